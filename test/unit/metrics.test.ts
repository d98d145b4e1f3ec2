import * as assert from 'node:assert/strict';
import { InvalidInputError } from '../../src/core/errors';
import { MetricSeriesSet, createMetricParser, type MetricPoint } from '../../src/core/metrics';

/** Points as `metric@step=value` strings: short to read in a failing assertion. */
function brief(points: readonly MetricPoint[]): string[] {
  return points.map((p) => `${p.metric}@${p.step}=${p.value}`);
}

/** A small seeded generator, so a failing fuzz line can be found again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Training metrics', function () {
  describe('parsing log lines', function () {
    it("reads the digits example's epoch lines, the first step word giving the step", function () {
      const parse = createMetricParser();
      assert.deepEqual(parse('epoch 3 loss 0.4100 acc 0.8800 val_loss 0.3000 val_acc 0.9100'), [
        { metric: 'loss', step: 3, value: 0.41, stepName: 'epoch' },
        { metric: 'acc', step: 3, value: 0.88, stepName: 'epoch' },
        { metric: 'val_loss', step: 3, value: 0.3, stepName: 'epoch' },
        { metric: 'val_acc', step: 3, value: 0.91, stepName: 'epoch' },
      ]);
      // The chart's x axis is named after the step word the line used.
      assert.deepEqual([...new Set(parse('ITERATION 7 loss 0.5').map((point) => point.stepName))], ['iteration']);
      assert.equal(parse('loss 0.5')[0]?.stepName, undefined, 'no step word: the step counts points');
      assert.deepEqual(brief(parse('loss 0.5 ITERATION 7 lr 1e-3')), ['loss@7=0.5', 'lr@7=0.001']);
      // Only the first step word is the step; a later one is an ordinary metric.
      assert.deepEqual(brief(parse('Epoch 2 step 200 loss 0.25')), ['step@2=200', 'loss@2=0.25']);
      assert.deepEqual(parse('epoch 4'), [], 'a step alone is no point');
    });

    it('reads key=value and key: value pairs, however separated', function () {
      const parse = createMetricParser();
      assert.deepEqual(brief(parse('step=10 loss=0.5 lr=1e-3')), ['loss@10=0.5', 'lr@10=0.001']);
      assert.deepEqual(brief(parse('Epoch: 2, loss: 0.31, accuracy: 0.9')), ['loss@2=0.31', 'accuracy@2=0.9']);
      assert.deepEqual(brief(parse('iter = 5; grad_norm:-1.5E+2 | top-1: .75')), ['grad_norm@5=-150', 'top-1@5=0.75']);
      assert.deepEqual(brief(parse('  step 3 - loss: 0.2950 - train/acc: 0.9143  ')), ['loss@3=0.295', 'train/acc@3=0.9143']);
      // A training loop printing a Python dict (Hugging Face's Trainer does).
      assert.deepEqual(brief(parse("{'loss': 0.6931, 'learning_rate': 4.9e-05, 'epoch': 1.5}")), ['loss@1.5=0.6931', 'learning_rate@1.5=0.000049']);
    });

    it('reads JSON lines: finite numbers only, nested values and strings ignored', function () {
      const parse = createMetricParser();
      assert.deepEqual(parse('{"epoch": 4, "loss": 0.2, "acc": 0.95}'), [
        { metric: 'loss', step: 4, value: 0.2, stepName: 'epoch' },
        { metric: 'acc', step: 4, value: 0.95, stepName: 'epoch' },
      ]);
      assert.deepEqual(
        brief(parse(' {"loss": 0.1, "Step": 9, "phase": "train", "nested": {"acc": 1}, "list": [1, 2], "ok": true, "big": 1e999, "none": null} ')),
        ['loss@9=0.1'],
      );
      assert.deepEqual(brief(createMetricParser()('{"step": "3", "loss": 0.5}')), ['loss@1=0.5'], 'a step given as text is no step');
      assert.deepEqual(parse('[1, 2, 3]'), []);
      assert.deepEqual(parse('{"loss": 0.5, "x": }'), [], 'broken JSON that is not pairs either');
    });

    it("gives nothing for prose with numbers in it, such as the digits example's other lines", function () {
      const parse = createMetricParser();
      for (const line of [
        'digits: 1437 training and 360 validation samples from /home/ma-user/modelarts/inputs/data_url_0',
        'hyperparameters: epochs=30 lr=0.01 batch_size=64 hidden=64',
        'using hidden=64 from the checkpoint instead of --hidden=32',
        'resumed from checkpoint.pt at epoch 5',
        'the checkpoint already has 5 epochs (--epochs=8): nothing to train',
        'stopped by SIGTERM at epoch 5',
        'saved checkpoint to /home/ma-user/modelarts/outputs/train_url_0/checkpoint.pt (validation accuracy 0.9639)',
        'Epoch 1/10',
        '1875/1875 [==============================] - 3s 1ms/step - loss: 0.2950',
        'loss 0.5 acc',
        'eta 3s',
        'accuracy 91%',
        '',
      ]) {
        assert.deepEqual(parse(line), [], line);
      }
    });

    it('numbers the steps of a line without one: points seen so far for that metric, plus 1', function () {
      const parse = createMetricParser();
      assert.deepEqual(brief(parse('loss 0.9')), ['loss@1=0.9']);
      assert.deepEqual(brief(parse('loss=0.8 acc=0.5')), ['loss@2=0.8', 'acc@1=0.5']);
      assert.deepEqual(brief(parse('step 10 loss 0.7')), ['loss@10=0.7']);
      assert.deepEqual(brief(parse('{"loss": 0.6}')), ['loss@4=0.6'], 'explicit steps count as points seen');
      assert.deepEqual(brief(createMetricParser()('loss 0.1')), ['loss@1=0.1'], 'each parser counts for its own log');
    });

    it('ignores non-finite numbers, long lines and keys that look like paths or URLs, and caps names', function () {
      const parse = createMetricParser();
      assert.deepEqual(brief(parse('epoch 2 loss nan acc inf val_loss -Infinity val_acc 1e999 lr 0.1')), ['lr@2=0.1']);
      assert.deepEqual(brief(parse('epoch NaN loss 0.5')), ['loss@1=0.5'], 'a non-finite step is no step');
      assert.deepEqual(parse(`loss 0.5 ${'a'.repeat(4090)} 1`), []);
      assert.equal(parse(`loss 0.5 ${'a'.repeat(4085)} 1`).length, 2, '4096 characters is still a line');
      assert.deepEqual(brief(createMetricParser()('data/train/x.csv 3 loss 0.5')), ['loss@1=0.5']);
      assert.deepEqual(parse('http://example.com:8080'), []);
      assert.deepEqual(parse('/home/ma-user/ckpt 3'), []);
      const json = '{"/abs/path": 1, "a//b": 2, "x:y": 3, "<b>x</b>": 4, "train/": 5, "https://a.b/c": 6, "loss": 7}';
      assert.deepEqual(brief(createMetricParser()(json)), ['loss@1=7']);
      const long = 'm'.repeat(100);
      assert.deepEqual(parse(`${long} 1`), [{ metric: 'm'.repeat(64), step: 1, value: 1 }]);
    });

    it('reads numbers exactly as Number() does', function () {
      const next = random(7);
      const digits = (count: number) => Array.from({ length: count }, () => Math.floor(next() * 10)).join('');
      const parse = createMetricParser();
      for (let n = 0; n < 10_000; n++) {
        const sign = ['', '-', '+'][Math.floor(next() * 3)]!;
        const whole = digits(Math.floor(next() * 12));
        const fraction = next() < 0.7 ? `.${digits(Math.floor(next() * 12))}` : '';
        const exponent = next() < 0.3 ? `e${['', '-', '+'][Math.floor(next() * 3)]}${digits(1 + Math.floor(next() * 3))}` : '';
        const text = sign + whole + fraction + exponent;
        const expected = Number(text);
        const got = parse(`x ${text}`);
        if (!Number.isFinite(expected) || !/\d/.test(whole + fraction)) continue;
        assert.ok(Object.is(got[0]?.value, expected), `${text}: ${got[0]?.value} is not ${expected}`);
      }
    });

    it('reads coloured lines and the last redraw of a progress line', function () {
      const parse = createMetricParser();
      assert.deepEqual(brief(parse('\u001b[32mepoch 1\u001b[0m loss 0.5')), ['loss@1=0.5']);
      assert.deepEqual(brief(parse('step 1 loss 9\rstep 2 loss 0.4\r')), ['loss@2=0.4']);
    });

    it('follows at most 256 metrics per log', function () {
      const parse = createMetricParser();
      for (let i = 0; i < 300; i++) parse(`metric_${i} ${i}`);
      assert.deepEqual(brief(parse('metric_255 1 metric_256 2')), ['metric_255@2=1']);
    });
  });

  describe('a user pattern', function () {
    it('takes the step group and every other named group holding a number', function () {
      const parse = createMetricParser({ pattern: String.raw`Train Epoch: (?<step>\d+).*Loss: (?<loss>\S+)(?: acc (?<acc>\S+))?(?: tag (?<tag>\w+))?` });
      assert.deepEqual(brief(parse('Train Epoch: 3 [640/60000 (1%)]\tLoss: 0.312 acc 0.9 tag best')), ['loss@3=0.312', 'acc@3=0.9']);
      assert.deepEqual(brief(parse('Train Epoch: 4 [640/60000 (1%)]\tLoss: nan')), []);
      assert.deepEqual(parse('epoch 5 loss 0.1'), [], 'a pattern replaces the built-in formats');
    });

    it('numbers steps itself when the pattern has no step group or it holds no number', function () {
      const parse = createMetricParser({ pattern: String.raw`^(?<step>\w+)? ?val=(?<val>[-+.\deE]+)$` });
      assert.deepEqual(brief([...parse('val=1'), ...parse('x val=2'), ...parse('7 val=3'), ...parse('val=1e999')]), ['val@1=1', 'val@2=2', 'val@7=3']);
    });

    it('treats an empty or blank pattern as none', function () {
      for (const pattern of ['', '   ']) assert.deepEqual(brief(createMetricParser({ pattern })('epoch 1 loss 2')), ['loss@1=2']);
    });

    it("refuses an invalid regular expression, naming the setting and the engine's message", function () {
      let engineMessage = '';
      try {
        new RegExp('(?<loss>[0-9');
      } catch (error) {
        engineMessage = (error as Error).message;
      }
      assert.ok(engineMessage);
      assert.throws(
        () => createMetricParser({ pattern: '(?<loss>[0-9' }),
        (error: unknown) =>
          error instanceof InvalidInputError &&
          error.fields[0] === 'modelarts.metrics.pattern' &&
          error.issues[0]!.message.includes(engineMessage) &&
          error.message.includes('Setting modelarts.metrics.pattern'),
      );
    });

    it('refuses a pattern without a named group for a metric', function () {
      for (const pattern of [String.raw`loss (\d+)`, String.raw`epoch (?<step>\d+)`]) {
        assert.throws(
          () => createMetricParser({ pattern }),
          (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'modelarts.metrics.pattern' && /named group/.test(error.message),
          pattern,
        );
      }
    });
  });

  describe('any line', function () {
    it('never throws, and every point it gives is finite with a short name (fuzzed)', function () {
      const next = random(20261123);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      const fragments = [
        'epoch', 'Step', 'iter', 'loss', 'acc', 'val_acc', 'train/loss', '__proto__', 'constructor', 'toString',
        '0', '-0', '3', '0.41', '.5', '5.', '1e-3', '-2.5E+7', '1e999', '-1e999', '9'.repeat(400), '0x10', '1_000', 'NaN', 'inf', '-Infinity',
        '=', ':', ',', ';', '|', ' - ', '-', '--', ' ', '\t', '{', '}', '[', ']', '"', "'", '\\', '/', '//', 'http://x.y/z', '/etc/passwd',
        '<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '&lt;', '\u001b[31m', '\u001b]0;t\u0007', '\r', '\u0000', '😀', '\ud800',
        '{"epoch": 1, "loss": 0.5}', '{"a": {"b": [1, {"c": 2}]}}', "{'loss': 0.1}", '"loss": 1e400', 'm'.repeat(80),
      ];
      const parsers = [createMetricParser(), createMetricParser({ pattern: String.raw`(?<step>\S+)\s+(?<loss>\S+)(?<x>.*)` })];
      let points = 0;
      for (let n = 0; n < 5000; n++) {
        let line = '';
        const parts = 1 + Math.floor(next() * 12);
        for (let p = 0; p < parts; p++) {
          line += next() < 0.15 ? String.fromCharCode(Math.floor(next() * 0x10000)) : pick(fragments);
          if (next() < 0.6) line += ' ';
        }
        if (n % 500 === 0) line = line.repeat(200); // well over 4096 characters
        for (const parse of parsers) {
          const got = parse(line);
          points += got.length;
          for (const point of got) {
            assert.ok(Number.isFinite(point.step) && Number.isFinite(point.value), JSON.stringify(line));
            assert.ok(point.metric.length > 0 && point.metric.length <= 64, JSON.stringify(line));
            assert.ok(!/[<>"'\\:\s]/.test(point.metric), `${point.metric} from ${JSON.stringify(line)}`);
          }
        }
      }
      assert.ok(points > 0, 'the fuzz produced some points too');
    });
  });

  it('parses 100,000 lines of the digits format', function () {
    this.timeout(60_000);
    const lines: string[] = [];
    for (let epoch = 1; epoch <= 100_000; epoch++) {
      const loss = (1 / epoch).toFixed(4);
      lines.push(`epoch ${epoch} loss ${loss} acc ${(1 - Number(loss) / 2).toFixed(4)} val_loss ${loss} val_acc 0.9${epoch % 1000}`);
    }
    // Parsing alone first, as a panel opening a long log would (cold), then parsing into a series set.
    const parse = createMetricParser();
    const started = process.hrtime.bigint();
    let points = 0;
    for (const line of lines) points += parse(line).length;
    const parsed = Number(process.hrtime.bigint() - started) / 1e6;
    const parseAgain = createMetricParser();
    const set = new MetricSeriesSet();
    const again = process.hrtime.bigint();
    for (const line of lines) set.add(parseAgain(line));
    const parsedAndAdded = Number(process.hrtime.bigint() - again) / 1e6;
    console.log(`      100,000 lines: parsed in ${parsed.toFixed(1)} ms; parsed and added to a series set in ${parsedAndAdded.toFixed(1)} ms`);
    assert.equal(points, 400_000);
    assert.equal(set.pointCount, 400_000);
    const [loss] = set.series();
    assert.equal(loss?.steps.length, 100_000);
    assert.equal(loss?.steps[99_999], 100_000);
    assert.equal(loss?.values[1], 0.5);
  });

  describe('series for charts', function () {
    it('keeps metrics in first-seen order and steps sorted, a repeated step replacing its value', function () {
      const set = new MetricSeriesSet();
      const parse = createMetricParser();
      for (const line of ['epoch 1 loss 0.9 acc 0.5', 'epoch 2 loss 0.7 acc 0.6', 'epoch 3 loss 0.5', '{"epoch": 2, "loss": 0.65, "val_loss": 0.8}']) {
        set.add(parse(line));
      }
      set.add([{ metric: 'acc', step: 0, value: 0.1 }, { metric: 'loss', step: 2.5, value: 0.6 }]);
      assert.deepEqual(set.series(), [
        { metric: 'loss', steps: [1, 2, 2.5, 3], values: [0.9, 0.65, 0.6, 0.5], stepName: 'epoch' },
        { metric: 'acc', steps: [0, 1, 2], values: [0.1, 0.5, 0.6], stepName: 'epoch' },
        { metric: 'val_loss', steps: [2], values: [0.8], stepName: 'epoch' },
      ]);
      assert.equal(set.pointCount, 8);
    });

    it('gives snapshots, and ignores points that are not finite', function () {
      const set = new MetricSeriesSet();
      set.add([{ metric: 'loss', step: 1, value: 1 }]);
      const before = set.series();
      before[0]!.values[0] = 42;
      set.add([
        { metric: 'loss', step: 2, value: 2 },
        { metric: 'loss', step: Number.NaN, value: 3 },
        { metric: 'loss', step: 3, value: Number.POSITIVE_INFINITY },
        { metric: '', step: 4, value: 4 },
      ]);
      assert.deepEqual(before[0]?.steps, [1]);
      assert.deepEqual(set.series(), [{ metric: 'loss', steps: [1, 2], values: [1, 2], stepName: 'step' }]);
      assert.equal(set.pointCount, 2);
    });

    it('inserts an earlier step in place and appends a later one', function () {
      const set = new MetricSeriesSet();
      for (const step of [5, 1, 9, 3, 7, 3, 10, 0]) set.add([{ metric: 'loss', step, value: step * 10 }]);
      assert.deepEqual(set.series(), [{ metric: 'loss', steps: [0, 1, 3, 5, 7, 9, 10], values: [0, 10, 30, 50, 70, 90, 100], stepName: 'step' }]);
    });
  });
});

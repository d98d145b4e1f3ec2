import * as assert from 'node:assert/strict';
import { LineSplitter, stripAnsi } from '../../src/core/lines';
import { DockerLogDemuxer } from '../../src/backends/local/logCapture';

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('line splitting', function () {
  it('joins lines across chunks, including a multi-byte character cut in two', function () {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('loss 0.5 ✓\nacc 0.9\npart');
    const cut = bytes.indexOf(Buffer.from('✓')) + 1;
    assert.deepEqual(splitter.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(splitter.push(bytes.subarray(cut)), ['loss 0.5 ✓', 'acc 0.9']);
    assert.equal(splitter.end(), 'part');
    assert.equal(splitter.end(), undefined);
  });

  it('removes ANSI colours and keeps the last redraw of a progress bar', function () {
    assert.equal(stripAnsi('\u001b[32mepoch 1\u001b[0m done'), 'epoch 1 done');
    assert.equal(stripAnsi(' 10%|#  |\r 50%|### |\r100%|#####|'), '100%|#####|');
    assert.equal(stripAnsi('windows line\r'), 'windows line');
    assert.equal(stripAnsi('\u001b]0;title\u0007text'), 'text');
  });
});

describe("Docker's multiplexed log stream", function () {
  it('splits frames cut anywhere, keeping stdout and stderr lines apart', function () {
    const stream = Buffer.concat([frame(1, 'epoch 1 lo'), frame(2, 'warning: slow\n'), frame(1, 'ss 0.5\nepoch 2\n'), frame(2, 'tail')]);
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const demuxer = new DockerLogDemuxer();
      const lines = [...demuxer.push(stream.subarray(0, cut)), ...demuxer.push(stream.subarray(cut)), ...demuxer.end()];
      assert.deepEqual(lines, ['warning: slow', 'epoch 1 loss 0.5', 'epoch 2', 'tail'], `cut at ${cut}`);
    }
  });

  it('handles a frame larger than a chunk', function () {
    const big = 'x'.repeat(100_000);
    const stream = frame(1, big + '\n');
    const demuxer = new DockerLogDemuxer();
    const lines: string[] = [];
    for (let at = 0; at < stream.length; at += 4096) lines.push(...demuxer.push(stream.subarray(at, at + 4096)));
    assert.deepEqual(lines, [big]);
  });
});

/**
 * A root hook for every UI suite: when a test fails, what the window showed at that moment is
 * kept as `failed-<test>.png` beside the other screenshots, to see what the user would have seen.
 */
import { openPages, screenshot } from '../support/codeServer';

afterEach(async function () {
  const test = this.currentTest;
  if (test?.state !== 'failed') return;
  const name = `failed-${test.fullTitle().replace(/[^\w-]+/g, '-').slice(0, 80)}`;
  let index = 0;
  for (const page of openPages) await screenshot(page, index++ ? `${name}-${index}` : name).catch(() => undefined);
});

const Sequencer = require("@jest/test-sequencer").default;

/**
 * Runs the static checks (type-check + lint, one long single-threaded test) first, so the other
 * worker takes the rest of the suite meanwhile; then jest's usual order.
 */
class StaticChecksFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const first = sorted.filter((t) => t.path.endsWith("static.test.ts"));
    return [...first, ...sorted.filter((t) => !first.includes(t))];
  }
}

module.exports = StaticChecksFirst;

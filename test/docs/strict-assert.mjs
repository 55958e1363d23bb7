// Preloaded into every documentation example: console.assert throws, so an
// example's stated facts are checked, not just printed.
const original = console.assert.bind(console);
console.assert = (condition, ...data) => {
  if (!condition) {
    original(condition, ...data);
    throw new Error(`console.assert failed${data.length ? `: ${data.map(String).join(' ')}` : ''}`);
  }
};

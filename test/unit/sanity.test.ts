import { expect, test } from '@jest/globals';
test('jest runs ESM TypeScript', () => {
  expect(typeof import.meta.url).toBe('string');
});

import { InvalidArgumentError } from 'commander';
import { numberArg, positiveInt, positiveNumber, wholeNumber } from '../lib/src/cli/args';

describe('numeric CLI flags', () => {
  test('accept values within bounds and return numbers', () => {
    expect(positiveInt('3')).toBe(3);
    expect(wholeNumber('0')).toBe(0);
    expect(positiveNumber('0.25')).toBe(0.25);
    expect(numberArg({ integer: true, min: 0, max: 65535 })('8080')).toBe(8080);
  });

  test.each([
    [positiveInt, '0', 'a whole number >= 1'],
    [positiveInt, '2.5', 'a whole number >= 1'],
    [wholeNumber, '-1', 'a whole number >= 0'],
    [positiveNumber, '0', 'a number > 0'],
    [positiveNumber, 'abc', 'a number > 0'],
    [positiveNumber, '', 'a number > 0'],
    [numberArg({ integer: true, min: 0, max: 65535 }), '70000', 'a whole number >= 0 and <= 65535'],
  ])('reject bad values with what was expected (%#)', (parse, value, expected) => {
    expect(() => parse(value)).toThrow(InvalidArgumentError);
    expect(() => parse(value)).toThrow(`"${value}" is not ${expected}.`);
  });
});

/** Parsers for numeric flags shared by every `fer` subcommand (commander calls them with the raw string). */
import { InvalidArgumentError } from 'commander';

export interface NumberArgOptions {
  /** Whole numbers only. */
  integer?: boolean;
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Smallest allowed value (exclusive), e.g. 0 for "positive". */
  above?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
}

/** A commander argument parser for a number within bounds; the error says what was expected. */
export function numberArg(options: NumberArgOptions = {}): (value: string) => number {
  const kind = options.integer ? 'a whole number' : 'a number';
  const bounds = [
    options.min !== undefined ? `>= ${options.min}` : '',
    options.above !== undefined ? `> ${options.above}` : '',
    options.max !== undefined ? `<= ${options.max}` : '',
  ].filter(Boolean).join(' and ');
  const expected = bounds ? `${kind} ${bounds}` : kind;
  return (value: string) => {
    const v = Number(value);
    const ok =
      value.trim() !== '' && Number.isFinite(v) && (!options.integer || Number.isInteger(v)) &&
      (options.min === undefined || v >= options.min) && (options.above === undefined || v > options.above) &&
      (options.max === undefined || v <= options.max);
    if (!ok) throw new InvalidArgumentError(`"${value}" is not ${expected}.`);
    return v;
  };
}

export const positiveInt = numberArg({ integer: true, min: 1 });
export const wholeNumber = numberArg({ integer: true, min: 0 });
export const positiveNumber = numberArg({ above: 0 });

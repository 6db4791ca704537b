import type { z } from 'zod';

/**
 * A fast accept-only check compiled FROM the zod schemas (so they stay the one source of truth).
 * Consumers validate every message; zod's safeParse builds an output object and issue lists we
 * only need when something is wrong. So: this predicate answers "valid?" with plain comparisons,
 * and only a message it refuses goes through zod, which then produces the field-path errors.
 *
 * It understands exactly the zod features the contract uses (strict objects, a discriminated
 * union, literals, enums, optionals, strings with length/regex checks, numbers with int/range
 * checks and boolean refinements). For anything else `compileFastCheck` returns undefined and the
 * caller keeps using zod alone: slower, never wrong. A unit test requires every event to compile
 * and compares both paths on thousands of mutated events.
 */
export type FastCheck = (value: unknown) => boolean;

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string; checks?: { _zod: { def: Record<string, unknown> } }[] } };
}

const internals = (schema: unknown) => (schema as ZodInternals)._zod.def;

function compileChecks(checks: { _zod: { def: Record<string, unknown> } }[] = []): FastCheck[] | undefined {
  const out: FastCheck[] = [];
  for (const { _zod } of checks) {
    const def = _zod.def;
    switch (def.check) {
      case 'min_length': {
        const min = def.minimum as number;
        out.push((v) => (v as string).length >= min);
        break;
      }
      case 'max_length': {
        const max = def.maximum as number;
        out.push((v) => (v as string).length <= max);
        break;
      }
      case 'string_format': {
        const pattern = def.pattern as RegExp | undefined;
        // Global/sticky regexes keep state between test() calls: not safe to share.
        if (def.format !== 'regex' || !pattern || pattern.global || pattern.sticky) return undefined;
        out.push((v) => pattern.test(v as string));
        break;
      }
      case 'number_format':
        if (def.format !== 'safeint') return undefined;
        out.push((v) => Number.isSafeInteger(v));
        break;
      case 'greater_than': {
        const min = def.value as number;
        out.push(def.inclusive ? (v) => (v as number) >= min : (v) => (v as number) > min);
        break;
      }
      case 'less_than': {
        const max = def.value as number;
        out.push(def.inclusive ? (v) => (v as number) <= max : (v) => (v as number) < max);
        break;
      }
      case 'custom': {
        // A .refine(): its predicate answers the same question. Only a synchronous `true` accepts.
        const fn = def.fn as (v: unknown) => unknown;
        out.push((v) => fn(v) === true);
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}

function all(base: FastCheck, checks: FastCheck[]): FastCheck {
  if (checks.length === 0) return base;
  return (v) => {
    if (!base(v)) return false;
    for (let i = 0; i < checks.length; i++) if (!checks[i](v)) return false;
    return true;
  };
}

/** Compiles a zod schema into an accept-only predicate, or undefined if it uses features not covered. */
export function compileFastCheck(schema: z.ZodType): FastCheck | undefined {
  const def = internals(schema);
  switch (def.type) {
    case 'literal': {
      const values = def.values as unknown[];
      return values.length === 1 ? (v) => v === values[0] : (v) => values.includes(v);
    }
    case 'enum': {
      const allowed = new Set(Object.values(def.entries as Record<string, unknown>));
      return (v) => allowed.has(v);
    }
    case 'optional': {
      const inner = compileFastCheck(def.innerType as z.ZodType);
      return inner && ((v) => v === undefined || inner(v));
    }
    case 'string': {
      const checks = compileChecks(def.checks);
      return checks && all((v) => typeof v === 'string', checks);
    }
    case 'number': {
      const checks = compileChecks(def.checks);
      return checks && all((v) => typeof v === 'number' && Number.isFinite(v), checks);
    }
    case 'object': {
      // Strict objects only: a stripping object would return fewer keys than it was given.
      if (def.checks?.length || !def.catchall || internals(def.catchall).type !== 'never') return undefined;
      const shape = def.shape as Record<string, z.ZodType>;
      const fields: [string, FastCheck][] = [];
      for (const [key, field] of Object.entries(shape)) {
        const check = compileFastCheck(field);
        if (!check) return undefined;
        fields.push([key, check]);
      }
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
        const record = v as Record<string, unknown>;
        for (let i = 0; i < fields.length; i++) if (!fields[i][1](record[fields[i][0]])) return false;
        for (const key in record) if (!Object.hasOwn(shape, key)) return false;
        return Object.getPrototypeOf(record) === Object.prototype;
      };
    }
    case 'union': {
      const discriminator = def.discriminator as string | undefined;
      if (!discriminator || def.checks?.length) return undefined;
      const byValue = new Map<unknown, FastCheck>();
      for (const option of def.options as z.ZodType[]) {
        const shape = internals(option).shape as Record<string, z.ZodType> | undefined;
        const tag = shape?.[discriminator] ? internals(shape[discriminator]) : undefined;
        const check = compileFastCheck(option);
        if (!check || tag?.type !== 'literal') return undefined;
        for (const value of tag.values as unknown[]) byValue.set(value, check);
      }
      return (v) => {
        if (typeof v !== 'object' || v === null) return false;
        const check = byValue.get((v as Record<string, unknown>)[discriminator]);
        return check !== undefined && check(v);
      };
    }
    default:
      return undefined;
  }
}

import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Span } from '@opentelemetry/api';

/**
 * Runs `work` with `span` as the active span and ends the span when the work settles; a throw marks the span
 * as an error (exception event, `error.type`, status) and is rethrown. The span's parent was chosen when it
 * was started: the work runs under ROOT_CONTEXT + this span, so nothing else active leaks in as a parent.
 * `finish` sets attributes from the result before the span ends. No span: the work runs as it is.
 */
export async function inSpan<T>(span: Span | undefined, work: () => Promise<T>, finish?: (result: T, span: Span) => void): Promise<T> {
  if (!span) return work();
  try {
    const result = await context.with(trace.setSpan(ROOT_CONTEXT, span), work);
    finish?.(result, span);
    return result;
  } catch (err) {
    span.recordException(err as Error);
    span.setAttribute('error.type', (err as Error).name || 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

// Loaded with `node --import`: makes the packages named in HIDE_PACKAGES (comma separated) unresolvable, as in an
// install that left them out (`npm install --omit=optional`), through Node's public module hooks (import and require).
import { registerHooks } from 'node:module';

const hidden = new Set((process.env.HIDE_PACKAGES ?? '').split(',').filter(Boolean));

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parts = specifier.split('/');
    const pkg = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
    if (hidden.has(pkg)) {
      // The error Node itself gives for a package that is not installed.
      const err = new Error(`Cannot find package '${pkg}' imported from ${context.parentURL ?? 'the entry point'}`);
      err.code = 'ERR_MODULE_NOT_FOUND';
      throw err;
    }
    return nextResolve(specifier, context);
  },
});

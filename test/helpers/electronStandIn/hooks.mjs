// Module hooks (node:module register): `electron`, imported by the built main process, is this stand-in.
const STAND_IN = new URL('./index.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: STAND_IN, shortCircuit: true, format: 'module' };
  return next(specifier, context);
}

// The UI library, vendored from npm at build time (tools/web_build.sh): Preact, its hooks,
// and htm, which turns tagged templates into Preact elements without a compile step.
import { h, render, Fragment } from './vendor/preact.js';
import htm from './vendor/htm.js';

export { h, render, Fragment };
export { useState, useEffect, useRef, useMemo, useCallback } from './vendor/hooks.js';
export const html = htm.bind(h);

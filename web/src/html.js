// htm bound to Preact's h: html`<p>${text}</p>` builds Preact elements with no build step.
// Text and attribute values are always set as text or properties, never parsed as HTML, so what
// the API sends is escaped by construction; the console never uses dangerouslySetInnerHTML.
import { h } from './vendor/preact.module.js';
import htm from './vendor/htm.module.js';

export const html = htm.bind(h);

// Building page elements, for the status page (status.js) and the API reference (docs/docs.js),
// which import it (the server answers it beside each). Plain browser JavaScript, served as is.
//
// Every text from an API or a document goes into a page through textContent or attribute values,
// never as markup: `el` is the only way the pages make elements.

const SVG = 'http://www.w3.org/2000/svg';

/**
 * An element with properties, attributes, listeners and children (strings become text nodes).
 * `svg: true` makes it in the SVG namespace (the status page's charts).
 */
export function el(tag, props = {}, ...children) {
  const node = props.svg ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false || key === 'svg') continue;
    if (key === 'className') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2).toLowerCase(), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

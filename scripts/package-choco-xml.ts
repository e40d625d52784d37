// A small, strict XML parser for the package tests (Bun has no DOMParser, and the project has no
// XML dependency). Enough for the nuspec and the OPC parts: one root element, attributes, text,
// comments, processing instructions, CDATA and the predefined/numeric entities. No DTDs. Throws on
// anything that is not well-formed, with the offset.

export interface XmlElement {
  /** the qualified name as written, e.g. "dc:creator" */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** the element's own text (entities decoded), not its descendants' */
  text: string;
}

const NAME = /[A-Za-z_:][\w:.-]*/y;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw: string, at: number): string {
  return raw.replace(/&([^;]*);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`XML: bare "&" near offset ${at}`);
    if (ref in ENTITIES) return ENTITIES[ref] ?? "";
    const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (num) return String.fromCodePoint(Number.parseInt(num[1] ?? num[2] ?? "", num[1] ? 16 : 10));
    throw new Error(`XML: unknown entity ${m} near offset ${at}`);
  });
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`XML: ${why} at offset ${i}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (/\s/.test(src[i] ?? "")) i++;
      if (src.startsWith("<?", i)) {
        const end = src.indexOf("?>", i);
        if (end < 0) fail("unterminated processing instruction");
        i = end + 2;
      } else if (src.startsWith("<!--", i)) {
        const end = src.indexOf("-->", i);
        if (end < 0) fail("unterminated comment");
        i = end + 3;
      } else return;
    }
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) return fail("expected a name");
    i += m[0].length;
    return m[0];
  };

  const element = (): XmlElement => {
    if (src[i] !== "<") fail('expected "<"');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: "" };
    for (;;) {
      const ws = /\s/.test(src[i] ?? "");
      while (/\s/.test(src[i] ?? "")) i++;
      if (src.startsWith("/>", i)) {
        i += 2;
        return el;
      }
      if (src[i] === ">") {
        i++;
        break;
      }
      if (!ws) fail("expected whitespace between attributes");
      const attr = name();
      while (/\s/.test(src[i] ?? "")) i++;
      if (src[i] !== "=") fail(`expected "=" after ${attr}`);
      i++;
      while (/\s/.test(src[i] ?? "")) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") return fail(`attribute ${attr} needs a quoted value`);
      const end = src.indexOf(q, i + 1);
      if (end < 0) fail("unterminated attribute value");
      const raw = src.slice(i + 1, end);
      if (raw.includes("<")) fail(`"<" in attribute ${attr}`);
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(raw, i);
      i = end + 1;
    }
    for (;;) {
      if (i >= src.length) fail(`unclosed <${el.name}>`);
      if (src.startsWith("</", i)) {
        i += 2;
        const close = name();
        if (close !== el.name) fail(`</${close}> closes <${el.name}>`);
        while (/\s/.test(src[i] ?? "")) i++;
        if (src[i] !== ">") fail('expected ">"');
        i++;
        return el;
      }
      if (src.startsWith("<!--", i)) {
        const end = src.indexOf("-->", i);
        if (end < 0) fail("unterminated comment");
        i = end + 3;
      } else if (src.startsWith("<![CDATA[", i)) {
        const end = src.indexOf("]]>", i);
        if (end < 0) fail("unterminated CDATA");
        el.text += src.slice(i + 9, end);
        i = end + 3;
      } else if (src.startsWith("<?", i)) {
        const end = src.indexOf("?>", i);
        if (end < 0) fail("unterminated processing instruction");
        i = end + 2;
      } else if (src[i] === "<") {
        el.children.push(element());
      } else {
        const end = src.indexOf("<", i);
        const stop = end < 0 ? src.length : end;
        el.text += decode(src.slice(i, stop), i);
        i = stop;
      }
    }
  };

  skipMisc();
  if (src.startsWith("<!DOCTYPE", i)) fail("DTDs are not supported");
  const root = element();
  skipMisc();
  if (i < src.length) fail("content after the root element");
  return root;
}

/** All descendants (depth first) named `name`. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...findAll(c, name)]);
}

/** The first descendant named `name`'s text, trimmed; undefined when there is none. */
export function textOf(el: XmlElement, name: string): string | undefined {
  return findAll(el, name)[0]?.text.trim();
}

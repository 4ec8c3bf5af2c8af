// Words from the server shown on the coaching page (the link panel's messages, the plan note): a command in
// backticks ("enter it with `romcam link`", as the command line prints it too) is shown as <code>romcam link</code>,
// not with its backticks. DOM nodes and textContent only, never innerHTML: the text comes from the server.
"use strict";

window.romcamWords = Object.freeze({
  /** The nodes of ``text``: plain text, and each `backticked` part as a <code> element (an unpaired backtick
   * stays as it is). */
  withCode(text) {
    const parts = String(text).split("`");
    if (parts.length < 3) return [document.createTextNode(String(text))];
    const nodes = [];
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      if (i % 2 === 1 && !last) {
        const code = document.createElement("code");
        code.textContent = part;
        nodes.push(code);
      } else if (i % 2 === 1) {  // an odd count: the last backtick opens nothing
        nodes.push(document.createTextNode("`" + part));
      } else if (part) {
        nodes.push(document.createTextNode(part));
      }
    });
    return nodes;
  },
  /** Fill ``node`` with ``text`` (see withCode). */
  fill(node, text) {
    node.replaceChildren(...this.withCode(text));
  },
});

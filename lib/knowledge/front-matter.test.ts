// The front matter subset: scalars, quoted scalars, inline lists, comments; errors name file and line.
import { describe, expect, it } from "vitest";
import { parseFrontMatter } from "./front-matter.ts";

describe("parseFrontMatter", () => {
  it("reads scalars, quoted scalars and inline lists, and returns the body after the block", () => {
    const { data, body } = parseFrontMatter(
      "x.md",
      [
        "---",
        "title: Service Hub: configuration",
        "# a comment",
        "kind: 'sop'",
        'tags: [service-hub, "a, b", tickets]',
        "empty: []",
        "---",
        "",
        "# Heading",
        "text",
      ].join("\r\n"),
    );
    expect(data).toEqual({
      title: "Service Hub: configuration",
      kind: "sop",
      tags: ["service-hub", "a, b", "tickets"],
      empty: [],
    });
    expect(body).toBe("# Heading\ntext");
  });

  it.each([
    ["no block", "# just markdown", "x.md:1: must start with a front matter block"],
    ["unclosed block", "---\ntitle: a\n", "x.md:1: the front matter block is not closed"],
    ["a line that is not key: value", "---\ntitle a\n---\n", "x.md:2: expected 'key: value'"],
    ["a repeated key", "---\ntitle: a\ntitle: b\n---\n", "x.md:3: 'title' is given twice"],
    ["an unterminated quote", '---\ntitle: "a\n---\n', "x.md:2: unterminated quoted value"],
    ["an unterminated quote in a list", "---\ntags: [a, 'b]\n---\n", "x.md:2: unterminated quote in list"],
  ])("refuses %s, naming the file and line", (_, source, message) => {
    expect(() => parseFrontMatter("x.md", source)).toThrow(message);
  });
});

// The knowledge entry at the boundary: one zod schema for the API and for loaded files, with its size
// limits in one place. Text fields go through `text()` (no NUL, control characters, unpaired
// surrogates or bidi controls); the body is measured in UTF-8 bytes, as it is stored and sent.
import { z } from "zod";
import { KNOWLEDGE_KINDS } from "../../db/schema/knowledge.ts";
import { text } from "../text.ts";

export { KNOWLEDGE_KINDS };
export type KnowledgeKind = (typeof KNOWLEDGE_KINDS)[number];

export const KNOWLEDGE_LIMITS = {
  title: 200,
  bodyBytes: 100 * 1024,
  tags: 20,
  tag: 40,
  project: 64,
  query: 500,
  results: 50,
} as const;

const utf8Bytes = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
};

export const projectRef = text({ min: 1, max: KNOWLEDGE_LIMITS.project, trim: true });

const body = text({ min: 1, max: KNOWLEDGE_LIMITS.bodyBytes, multiline: true })
  // Only when the character count passed, so an oversized body gets one message, not two.
  .refine((s) => s.length > KNOWLEDGE_LIMITS.bodyBytes || utf8Bytes(s) <= KNOWLEDGE_LIMITS.bodyBytes, {
    message: `must be at most ${KNOWLEDGE_LIMITS.bodyBytes} bytes (100 KB) of UTF-8`,
  })
  .refine((s) => s.trim().length > 0, { message: "must not be blank" });

const tag = text({ min: 1, max: KNOWLEDGE_LIMITS.tag, trim: true, minMessage: "must not be empty" });

export const knowledgeInput = z.strictObject({
  title: text({ min: 1, max: KNOWLEDGE_LIMITS.title, trim: true, minMessage: "must not be empty" }),
  body,
  kind: z.enum(KNOWLEDGE_KINDS).default("note"),
  /** Omitted or null: a global entry, retrieved for every project. */
  project: projectRef.nullish(),
  tags: z
    .array(tag)
    .max(KNOWLEDGE_LIMITS.tags)
    .default([])
    .transform((tags) => [...new Set(tags)]),
});
export type KnowledgeInput = z.input<typeof knowledgeInput>;
export type ParsedKnowledgeInput = z.output<typeof knowledgeInput>;

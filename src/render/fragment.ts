/**
 * A fragment is output already built for one medium (HTML, Markdown, terminal, XML, Slack): safe to
 * place as is into more of the same medium. Only the modules of src/render make fragments (an
 * architecture test keeps it so); everywhere else, text becomes output through a medium's tag or
 * placing functions, which escape it.
 */
import type { Untrusted } from './untrusted.ts'

/** The media driftwatch writes to. */
export type Medium = 'html' | 'md' | 'term' | 'xml' | 'slack'

const KEY: unique symbol = Symbol('fragment')

/** Output built for medium M. */
export class Fragment<M extends Medium> {
  /** Only `fragment()` builds one (the key is not exported). */
  constructor(
    key: typeof KEY,
    readonly medium: M,
    private readonly text: string,
  ) {
    if (key !== KEY) throw new TypeError('fragments are built by src/render')
  }
  toString(): string {
    return this.text
  }
}

/** Makes a fragment from text this module's caller has already made safe for the medium. For src/render only. */
export function fragment<M extends Medium>(medium: M, text: string): Fragment<M> {
  return new Fragment(KEY, medium, text)
}

/** What a tag interpolates: fragments of its medium, numbers, lists of fragments, nothing; untrusted text where the medium has one escape for it. */
export type TagValue<M extends Medium, Text = never> = Fragment<M> | number | readonly Fragment<M>[] | undefined | false | Text

/**
 * A tagged template for a medium: literal parts are markup, fragments of the same medium go in as
 * they are, numbers as digits, and (when `escape` is given) any string is escaped.
 */
export function tagFor<M extends Medium, Text = never>(medium: M, escape?: (u: Untrusted) => string) {
  const piece = (v: TagValue<M, Text>): string => {
    if (v === undefined || v === false) return ''
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
    if (typeof v === 'string') {
      if (!escape) throw new TypeError(`untrusted text must be placed before it goes into ${medium}`)
      return escape(v as unknown as Untrusted)
    }
    const list: readonly unknown[] = Array.isArray(v) ? v : [v]
    return list
      .map((x) => {
        if (!(x instanceof Fragment) || x.medium !== medium) throw new TypeError(`only ${medium} fragments go into ${medium}`)
        return x.toString()
      })
      .join('')
  }
  return (strings: TemplateStringsArray, ...values: TagValue<M, Text>[]): Fragment<M> => {
    let out = strings[0]!
    for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1]!
    return fragment(medium, out)
  }
}

/** Fragments of one medium joined with a separator. */
export function joinFragments<M extends Medium>(medium: M, parts: readonly Fragment<M>[], separator?: Fragment<M>): Fragment<M> {
  return fragment(medium, parts.map(String).join(separator ? String(separator) : ''))
}

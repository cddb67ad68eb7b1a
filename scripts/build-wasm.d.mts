/** The .wat's module as bytes (scripts/build-wasm.mjs). */
export function assemble(watPath?: string): Promise<Buffer>
/** The TypeScript file that carries the bytes. */
export function generated(bytes: Buffer): string

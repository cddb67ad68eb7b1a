;; The reader's byte loops over a HAR's bytes, in WebAssembly (wasm-loops.ts uses them and holds the
;; JavaScript it must equal; scripts/build-wasm.mjs assembles this file).
;; Memory: [0, 256) each byte's hex value (255: not hex); [256, 512) each escape letter's code (255:
;; no such escape); [512, 768) each byte's class in a string piece (bit 0: not a base64 or base64url
;; character, bit 1: a control character); [768, 1024) each byte's meaning to skim outside strings (0
;; nothing, 1 a string opens, 2 a container opens, 3 one closes); all filled by wasm-loops.ts. Content
;; (a piece, or a chunk) from 1024.
(module
  (memory (export "memory") 1)
  (global $stopIn (export "stopIn") (mut i32) (i32.const 0))
  (global $stopOut (export "stopOut") (mut i32) (i32.const 0))
  (global $depthOut (export "depthOut") (mut i32) (i32.const 0))
  (global $inStringOut (export "inStringOut") (mut i32) (i32.const 0))
  (global $escapeOut (export "escapeOut") (mut i32) (i32.const 0))
  (global $tooDeep (export "tooDeep") (mut i32) (i32.const 0))

  ;; JSON string content with escapes in [1024, end), decoded to UTF-8 in place (json-scanner.ts's
  ;; unescape): decoding never writes past what it has read. Returns the output's end; -1 when the
  ;; content is not JSON (a raw control character, a bad escape); -2 at a \u escape of a surrogate,
  ;; which JavaScript decodes (pairs, lone ones), with the read and write positions in $stopIn and
  ;; $stopOut.
  (func (export "unescape") (param $end i32) (result i32)
    (local $i i32) (local $j i32) (local $c i32) (local $code i32) (local $h i32)
    (local.set $i (i32.const 1024))
    (local.set $j (i32.const 1024))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (i32.ne (local.get $c) (i32.const 92))
          (then
            (if (i32.lt_u (local.get $c) (i32.const 32)) (then (return (i32.const -1))))
            (i32.store8 (local.get $j) (local.get $c))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $top)))
        ;; an escape: its letter must be inside the content
        (if (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $end)) (then (return (i32.const -1))))
        (local.set $c (i32.load8_u (i32.add (local.get $i) (i32.const 1))))
        (if (i32.eq (local.get $c) (i32.const 117))
          (then
            (if (i32.gt_u (i32.add (local.get $i) (i32.const 6)) (local.get $end)) (then (return (i32.const -1))))
            ;; each digit's value, or 255 (bit 7 set) for a byte that is no hex digit
            (local.set $h (i32.load8_u (i32.load8_u (i32.add (local.get $i) (i32.const 2)))))
            (local.set $c (local.get $h))
            (local.set $code (local.get $h))
            (local.set $h (i32.load8_u (i32.load8_u (i32.add (local.get $i) (i32.const 3)))))
            (local.set $c (i32.or (local.get $c) (local.get $h)))
            (local.set $code (i32.or (i32.shl (local.get $code) (i32.const 4)) (local.get $h)))
            (local.set $h (i32.load8_u (i32.load8_u (i32.add (local.get $i) (i32.const 4)))))
            (local.set $c (i32.or (local.get $c) (local.get $h)))
            (local.set $code (i32.or (i32.shl (local.get $code) (i32.const 4)) (local.get $h)))
            (local.set $h (i32.load8_u (i32.load8_u (i32.add (local.get $i) (i32.const 5)))))
            (local.set $c (i32.or (local.get $c) (local.get $h)))
            (local.set $code (i32.or (i32.shl (local.get $code) (i32.const 4)) (local.get $h)))
            (if (i32.and (local.get $c) (i32.const 128)) (then (return (i32.const -1))))
            (if (i32.eq (i32.and (local.get $code) (i32.const 0xf800)) (i32.const 0xd800))
              (then
                (global.set $stopIn (local.get $i))
                (global.set $stopOut (local.get $j))
                (return (i32.const -2))))
            (local.set $i (i32.add (local.get $i) (i32.const 6))))
          (else
            (local.set $code (i32.load8_u (i32.add (i32.const 256) (local.get $c))))
            (if (i32.eq (local.get $code) (i32.const 255)) (then (return (i32.const -1))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))))
        ;; the code point as UTF-8
        (if (i32.lt_u (local.get $code) (i32.const 0x80))
          (then
            (i32.store8 (local.get $j) (local.get $code))
            (local.set $j (i32.add (local.get $j) (i32.const 1))))
          (else
            (if (i32.lt_u (local.get $code) (i32.const 0x800))
              (then
                (i32.store8 (local.get $j) (i32.or (i32.const 0xc0) (i32.shr_u (local.get $code) (i32.const 6))))
                (i32.store8 (i32.add (local.get $j) (i32.const 1)) (i32.or (i32.const 0x80) (i32.and (local.get $code) (i32.const 0x3f))))
                (local.set $j (i32.add (local.get $j) (i32.const 2))))
              (else
                (i32.store8 (local.get $j) (i32.or (i32.const 0xe0) (i32.shr_u (local.get $code) (i32.const 12))))
                (i32.store8 (i32.add (local.get $j) (i32.const 1)) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $code) (i32.const 6)) (i32.const 0x3f))))
                (i32.store8 (i32.add (local.get $j) (i32.const 2)) (i32.or (i32.const 0x80) (i32.and (local.get $code) (i32.const 0x3f))))
                (local.set $j (i32.add (local.get $j) (i32.const 3)))))))
        (br $top)))
    (local.get $j))

  ;; A string piece without escapes in [from, end): 0 when every byte is a base64 or base64url
  ;; character, 2 when one is a control character, 1 otherwise (json-scanner.ts's piece).
  (func (export "classify") (param $from i32) (param $end i32) (result i32)
    (local $i i32) (local $all i32)
    (local.set $i (local.get $from))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $all (i32.or (local.get $all) (i32.load8_u (i32.add (i32.const 512) (i32.load8_u (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (if (i32.and (local.get $all) (i32.const 2)) (then (return (i32.const 2))))
    (i32.and (local.get $all) (i32.const 1)))

  ;; Skims [i, len) of a container wanted whole (json-scanner.ts's skim): passes strings (an escape
  ;; pending from the last chunk when $escape), counts containers opened inside it ($depth so far),
  ;; and stops after the one that closes it, or at len. Returns where it stopped, with the depth, whether
  ;; it is inside a string, and whether an escape's second byte is still to come in the globals; at
  ;; a container opened past $room levels it stops with $tooDeep set.
  (func (export "skim") (param $i i32) (param $len i32) (param $depth i32) (param $inString i32) (param $escape i32) (param $room i32) (result i32)
    (local $b i32) (local $k i32)
    (global.set $tooDeep (i32.const 0))
    (if (local.get $escape) (then (local.set $i (i32.add (local.get $i) (i32.const 1)))))
    (local.set $escape (i32.const 0))
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $len)))
        (if (local.get $inString)
          (then
            (block $found
              (loop $scan
                (br_if $found (i32.ge_u (local.get $i) (local.get $len)))
                (local.set $b (i32.load8_u (local.get $i)))
                (br_if $found (i32.eq (local.get $b) (i32.const 34)))
                (br_if $found (i32.eq (local.get $b) (i32.const 92)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $scan)))
            (br_if $out (i32.ge_u (local.get $i) (local.get $len)))
            (if (i32.eq (local.get $b) (i32.const 34))
              (then
                (local.set $inString (i32.const 0))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $top)))
            ;; an escape: the byte after the backslash never ends the string
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (if (i32.gt_u (local.get $i) (local.get $len))
              (then
                (local.set $escape (i32.const 1))
                (local.set $i (local.get $len))))
            (br $top)))
        (local.set $k (i32.load8_u (i32.add (i32.const 768) (i32.load8_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $top (i32.eqz (local.get $k)))
        (if (i32.eq (local.get $k) (i32.const 1))
          (then
            (local.set $inString (i32.const 1))
            (br $top)))
        (if (i32.eq (local.get $k) (i32.const 2))
          (then
            (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
            (if (i32.gt_s (local.get $depth) (local.get $room))
              (then
                (global.set $tooDeep (i32.const 1))
                (br $out)))
            (br $top)))
        (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
        (br_if $out (i32.eqz (local.get $depth)))
        (br $top)))
    (global.set $depthOut (local.get $depth))
    (global.set $inStringOut (local.get $inString))
    (global.set $escapeOut (local.get $escape))
    (local.get $i))

  ;; How many UTF-16 code units the UTF-8 in [from, end) (whole characters) decodes to: one a
  ;; character, two for one past U+FFFF (har.ts's keptText).
  (func (export "utf16Units") (param $from i32) (param $end i32) (result i32)
    (local $i i32) (local $b i32) (local $units i32)
    (local.set $i (local.get $from))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $i)))
        (if (i32.ne (i32.and (local.get $b) (i32.const 0xc0)) (i32.const 0x80))
          (then
            (local.set $units (i32.add (local.get $units)
              (select (i32.const 2) (i32.const 1) (i32.ge_u (local.get $b) (i32.const 0xf0)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $units))


  ;; UTF-8 in [from, end) that is only ASCII and two-byte characters up to U+00FF (a binary upload
  ;; kept as text: bytes as Latin-1 characters), rewritten in place as Latin-1, one byte a
  ;; character; returns the end of it, or -1 at anything else (wasm-loops.ts's utf8Text decodes
  ;; that as UTF-8).
  (func (export "latin1") (param $from i32) (param $end i32) (result i32)
    (local $i i32) (local $j i32) (local $b i32) (local $c i32)
    (local.set $i (local.get $from))
    (local.set $j (local.get $from))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $i)))
        (if (i32.lt_u (local.get $b) (i32.const 0x80))
          (then
            (i32.store8 (local.get $j) (local.get $b))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $top)))
        ;; C2 or C3, then a continuation byte: U+0080 to U+00FF
        (if (i32.ne (i32.and (local.get $b) (i32.const 0xfe)) (i32.const 0xc2)) (then (return (i32.const -1))))
        (if (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $end)) (then (return (i32.const -1))))
        (local.set $c (i32.load8_u (i32.add (local.get $i) (i32.const 1))))
        (if (i32.ne (i32.and (local.get $c) (i32.const 0xc0)) (i32.const 0x80)) (then (return (i32.const -1))))
        (i32.store8 (local.get $j)
          (i32.or (i32.or (i32.const 0x80) (i32.shl (i32.and (local.get $b) (i32.const 1)) (i32.const 6))) (i32.and (local.get $c) (i32.const 0x3f))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $top)))
    (local.get $j))
)

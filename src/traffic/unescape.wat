;; JSON string content with escapes, decoded to UTF-8 in place (see unescape-fast.ts, which uses it,
;; and json-scanner.ts's unescape, which it must equal). Assembled by scripts/build-wasm.mjs.
;; Memory: [0, 256) each byte's hex value (255: not hex), [256, 512) each escape letter's code
;; (255: no such escape), both filled by unescape-fast.ts; the content from 512. Decoding never writes past what it has read, so the
;; output overwrites the input from 512. Returns the output's end; -1 when the content is not JSON
;; (a raw control character, a bad escape); -2 at a \u escape of a surrogate, which JavaScript
;; decodes (pairs, lone ones), with the read and write positions in $stopIn and $stopOut.
(module
  (memory (export "memory") 1)
  (global $stopIn (export "stopIn") (mut i32) (i32.const 0))
  (global $stopOut (export "stopOut") (mut i32) (i32.const 0))
  (func (export "unescape") (param $end i32) (result i32)
    (local $i i32) (local $j i32) (local $c i32) (local $code i32) (local $h i32)
    (local.set $i (i32.const 512))
    (local.set $j (i32.const 512))
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
    (local.get $j)))

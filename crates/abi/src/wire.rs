//! Postcard written and read by hand for the messages a guest sends and
//! reads on every maker run and call: a guest carries these few small
//! functions instead of serde's generated code for each type (about 6 KB of
//! every module). The bytes are exactly those of the types' serde impls,
//! which the host uses; the tests below hold the two together.

use alloc::vec::Vec;

use crate::{ArgError, Envelope, Field, Made, ShippedGlobal, Signature};

/// Appends postcard's varint of `n`.
pub fn varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends postcard's bytes (and strings): their length, then them.
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    varint(out, b.len());
    out.extend_from_slice(b);
}

fn fields(out: &mut Vec<u8>, list: &[Field]) {
    varint(out, list.len());
    for field in list {
        bytes(out, field.name.as_bytes());
        bytes(out, field.ty.as_bytes());
    }
}

fn option_bytes(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            bytes(out, b);
        }
    }
}

/// Postcard of a parameter list, as a maker names its parameters.
pub fn encode_fields(list: &[Field]) -> Vec<u8> {
    let mut out = Vec::new();
    fields(&mut out, list);
    out
}

impl Signature {
    /// Appends this signature's postcard.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        fields(out, &self.params);
        bytes(out, self.result.as_bytes());
        option_bytes(out, self.ok.as_ref().map(|s| s.as_bytes()));
        option_bytes(out, self.error.as_ref().map(|s| s.as_bytes()));
        fields(out, &self.captures);
        fields(out, &self.globals);
    }
}

impl Made {
    /// This answer's postcard.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        varint(&mut out, self.entry as usize);
        varint(&mut out, self.trampoline as usize);
        varint(&mut out, self.body as usize);
        bytes(&mut out, &self.state);
        self.signature.encode_into(&mut out);
        out
    }
}

/// Appends [`Reached::trampolines`](crate::Reached::trampolines)'
/// postcard. A guest writes a [`Reached`](crate::Reached) report from its
/// parts: this, the count of globals, then each [`touched_global`].
pub fn trampolines(out: &mut Vec<u8>, list: Option<&[u32]>) {
    match list {
        None => out.push(0),
        Some(list) => {
            out.push(1);
            varint(out, list.len());
            for &t in list {
                varint(out, t as usize);
            }
        }
    }
}

/// Appends the postcard of a [`TouchedGlobal`](crate::TouchedGlobal) with these fields.
pub fn touched_global(
    out: &mut Vec<u8>,
    addr: u32,
    size: u32,
    ty: &str,
    declared: &str,
    value: Option<&[u8]>,
    withheld: bool,
) {
    varint(out, addr as usize);
    varint(out, size as usize);
    bytes(out, ty.as_bytes());
    bytes(out, declared.as_bytes());
    option_bytes(out, value);
    out.push(withheld as u8);
}

impl ArgError {
    /// This error's postcard.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        varint(&mut out, self.index as usize);
        bytes(&mut out, self.message.as_bytes());
        out
    }
}

/// Why bytes did not read as the message expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The bytes ended inside a value.
    Truncated,
    /// A varint was longer than its type allows.
    BadVarint,
    /// A `bool` byte was neither 0 nor 1.
    BadBool,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "the bytes end inside a value",
            WireError::BadVarint => "a number is too long",
            WireError::BadBool => "a flag is neither 0 nor 1",
        })
    }
}

/// Reads postcard from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    #[inline(never)]
    fn u32(&mut self) -> Result<u32, WireError> {
        let mut n: u32 = 0;
        for i in 0..5 {
            let (&byte, rest) = self.0.split_first().ok_or(WireError::Truncated)?;
            self.0 = rest;
            // The fifth byte holds the top 4 bits.
            if i == 4 && byte > 0x0f {
                return Err(WireError::BadVarint);
            }
            n |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(WireError::BadVarint)
    }

    // Not inlined: a guest carries one copy of each reader.
    #[inline(never)]
    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()? as usize;
        if len > self.0.len() {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn bool(&mut self) -> Result<bool, WireError> {
        let (&byte, rest) = self.0.split_first().ok_or(WireError::Truncated)?;
        self.0 = rest;
        match byte {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::BadBool),
        }
    }

    /// A count of items, each at least `min_item` bytes: a count the rest
    /// cannot hold is refused before anything is allocated for it.
    fn count(&mut self, min_item: usize) -> Result<usize, WireError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item) > self.0.len() {
            return Err(WireError::Truncated);
        }
        Ok(n)
    }
}

impl<'a> Envelope<'a> {
    /// Reads an envelope from the front of `input`; returns it and the
    /// bytes after it.
    pub fn decode(input: &'a [u8]) -> Result<(Envelope<'a>, &'a [u8]), WireError> {
        let mut r = Reader(input);
        // A shipped global is at least 5 bytes: four varints and a flag.
        let n = r.count(5)?;
        let mut globals = Vec::with_capacity(n);
        for _ in 0..n {
            let addr = r.u32()?;
            let ty = r.bytes()?;
            let declared = r.bytes()?;
            let by_body = r.bool()?;
            let value = r.bytes()?;
            globals.push(ShippedGlobal { addr, ty, declared, by_body, value });
        }
        let n = r.count(1)?;
        let mut withheld = Vec::with_capacity(n);
        for _ in 0..n {
            withheld.push(r.u32()?);
        }
        let state = r.bytes()?;
        Ok((Envelope { globals, withheld, state }, r.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reached, TouchedGlobal};
    use alloc::string::{String, ToString};
    use alloc::vec;

    fn field(name: &str, ty: &str) -> Field {
        Field { name: name.into(), ty: ty.into() }
    }

    fn signature() -> Signature {
        Signature {
            params: vec![field("own_arg", "i64"), field("", "alloc::string::String")],
            result: "core::result::Result<i64, alloc::string::String>".into(),
            ok: Some("i64".into()),
            error: None,
            captures: vec![field("closure_arg", "i64")],
            globals: vec![],
        }
    }

    #[test]
    fn made_and_signature_are_serde_s_bytes() {
        let long = "é".repeat(100);
        for state in [vec![], vec![7u8; 300]] {
            let made = Made { entry: 3, trampoline: 200, body: u32::MAX, state, signature: signature() };
            assert_eq!(made.encode(), postcard::to_allocvec(&made).unwrap());
        }
        let mut s = signature();
        s.error = Some(long.clone());
        s.globals = vec![field(&long, "u8"); 130];
        let mut out = Vec::new();
        s.encode_into(&mut out);
        assert_eq!(out, postcard::to_allocvec(&s).unwrap());
        assert_eq!(encode_fields(&s.params), postcard::to_allocvec(&s.params).unwrap());
    }

    #[test]
    fn reached_and_arg_errors_are_serde_s_bytes() {
        let touched = |value: Option<Vec<u8>>, withheld| TouchedGlobal {
            addr: 1 << 20,
            size: 24,
            ty: "alloc::vec::Vec<u8>".into(),
            declared: "src/lib.rs:10:1".into(),
            value,
            withheld,
        };
        for trampolines in [None, Some(vec![]), Some(vec![1, 128, 70_000])] {
            let reached = Reached {
                trampolines,
                globals: vec![touched(None, true), touched(Some(vec![]), false), touched(Some(vec![1; 200]), false)],
            };
            // From its parts, as a guest writes it.
            let mut out = Vec::new();
            super::trampolines(&mut out, reached.trampolines.as_deref());
            varint(&mut out, reached.globals.len());
            for g in &reached.globals {
                touched_global(&mut out, g.addr, g.size, &g.ty, &g.declared, g.value.as_deref(), g.withheld);
            }
            assert_eq!(out, postcard::to_allocvec(&reached).unwrap());
        }
        let error = ArgError { index: u32::MAX, message: "expected 2 arguments".to_string() };
        assert_eq!(error.encode(), postcard::to_allocvec(&error).unwrap());
    }

    #[test]
    fn envelopes_read_as_serde_writes_them() {
        let name = String::from("core::option::Option<i64>");
        let value = vec![1u8, 2, 3];
        let envelope = Envelope {
            globals: vec![
                ShippedGlobal { addr: 4096, ty: name.as_bytes(), declared: b"a.rs:1:1", by_body: true, value: &value },
                ShippedGlobal { addr: 1 << 31, ty: b"", declared: b"", by_body: false, value: &[] },
            ],
            withheld: vec![0, 300, u32::MAX],
            state: &[9; 140],
        };
        let mut bytes = postcard::to_allocvec(&envelope).unwrap();
        bytes.push(0xaa);
        assert_eq!(Envelope::decode(&bytes), Ok((envelope, &[0xaa][..])));
    }

    #[test]
    fn bad_envelopes_are_errors() {
        let empty = Envelope { globals: vec![], withheld: vec![], state: &[] };
        let good = postcard::to_allocvec(&empty).unwrap();
        assert_eq!(Envelope::decode(&good), Ok((empty, &[][..])));
        // Truncated anywhere, a count far beyond the bytes, an overlong
        // varint, a bad flag.
        for cut in 0..good.len() {
            assert_eq!(Envelope::decode(&good[..cut]), Err(WireError::Truncated));
        }
        assert_eq!(Envelope::decode(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Err(WireError::Truncated));
        assert_eq!(Envelope::decode(&[0xff, 0xff, 0xff, 0xff, 0x1f]), Err(WireError::BadVarint));
        assert_eq!(Envelope::decode(&[1, 0, 0, 0, 2, 0, 0, 0, 0]), Err(WireError::BadBool));
    }
}

//! The syntax of a type name as `core::any::type_name` writes it
//! (`alloc::vec::Vec<(i64, &str)>`), read into a tree. A name comes from a
//! package, which may be hostile: the tree's depth is bounded.

use std::fmt;

/// How deeply types may nest: real types nest far less.
pub(crate) const MAX_DEPTH: usize = 32;

/// A type name, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TypeName {
    /// A path with its generic arguments: `alloc::vec::Vec<i64>`, `i64`.
    Path(String, Vec<TypeName>),
    /// `&T` or `&mut T`.
    Ref(Box<TypeName>),
    /// `[T]`.
    Slice(Box<TypeName>),
    /// `[T; N]`, with `N` as written.
    Array(Box<TypeName>, String),
    /// `(A, B)`; `()` has no elements.
    Tuple(Vec<TypeName>),
}

impl TypeName {
    /// Reads `name`; the error says why it is not one type name.
    pub fn parse(name: &str) -> Result<TypeName, String> {
        let mut parser = Parser { rest: name.trim() };
        let tree = parser.one(0)?;
        if parser.rest.is_empty() { Ok(tree) } else { Err(name.into()) }
    }
}

impl fmt::Display for TypeName {
    /// As `core::any::type_name` writes it (`&mut` is written `&`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[TypeName]| {
            items.iter().enumerate().try_for_each(|(i, item)| {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")
            })
        };
        match self {
            TypeName::Path(path, args) => {
                f.write_str(path)?;
                if !args.is_empty() {
                    f.write_str("<")?;
                    list(f, args)?;
                    f.write_str(">")?;
                }
                Ok(())
            }
            TypeName::Ref(inner) => write!(f, "&{inner}"),
            TypeName::Slice(item) => write!(f, "[{item}]"),
            TypeName::Array(item, len) => write!(f, "[{item}; {len}]"),
            TypeName::Tuple(items) => {
                f.write_str("(")?;
                list(f, items)?;
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
        }
    }
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(after) => {
                self.rest = after.trim_start();
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) { Ok(()) } else { Err(self.rest.into()) }
    }

    /// `A, B>` after a `<`, or `A, B)` after a `(`: the items and the
    /// closing token.
    fn items(&mut self, close: &str, depth: usize) -> Result<Vec<TypeName>, String> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.one(depth)?);
            if !self.eat(",") {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }

    fn one(&mut self, depth: usize) -> Result<TypeName, String> {
        if depth == MAX_DEPTH {
            return Err(format!("a type nested more than {MAX_DEPTH} deep"));
        }
        let depth = depth + 1;
        if self.eat("&") {
            self.eat("mut ");
            return Ok(TypeName::Ref(Box::new(self.one(depth)?)));
        }
        if self.eat("(") {
            return Ok(TypeName::Tuple(self.items(")", depth)?));
        }
        if self.eat("[") {
            let item = Box::new(self.one(depth)?);
            if self.eat("]") {
                return Ok(TypeName::Slice(item));
            }
            self.expect(";")?;
            let end = self.rest.find(']').ok_or_else(|| self.rest.to_owned())?;
            let len = self.rest[..end].trim().to_owned();
            self.rest = &self.rest[end..];
            self.expect("]")?;
            return Ok(TypeName::Array(item, len));
        }
        let end = self.rest.find(['<', '>', ',', '(', ')', '[', ']', ';', '&', ' ']).unwrap_or(self.rest.len());
        let path = self.rest[..end].to_owned();
        self.rest = self.rest[end..].trim_start();
        if path.is_empty() {
            return Err(self.rest.into());
        }
        let args = if self.eat("<") { self.items(">", depth)? } else { Vec::new() };
        Ok(TypeName::Path(path, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::any::type_name;

    #[test]
    fn names_read_and_write_back_as_type_name_writes_them() {
        for name in [
            type_name::<i64>(),
            type_name::<()>(),
            type_name::<(i64,)>(),
            type_name::<(&str, [u8; 4], &[u16])>(),
            type_name::<std::collections::HashMap<String, Vec<Option<f64>>>>(),
            type_name::<Result<Box<[u8]>, String>>(),
        ] {
            assert_eq!(TypeName::parse(name).unwrap().to_string(), name);
        }
        assert_eq!(TypeName::parse("&mut str"), Ok(TypeName::Ref(Box::new(TypeName::Path("str".into(), vec![])))));
    }

    #[test]
    fn malformed_and_deep_names_are_refused() {
        for bad in ["", "alloc::vec::Vec<i64", "alloc::vec::Vec<i64,", "i64 i64", "(i64", "[u8; 4", "[u8 4]", ">"] {
            assert!(TypeName::parse(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}i64{}", "alloc::vec::Vec<".repeat(100_000), ">".repeat(100_000));
        assert!(TypeName::parse(&deep).unwrap_err().contains("nested more than"));
        assert!(TypeName::parse(&"&".repeat(100_000)).is_err());
    }
}

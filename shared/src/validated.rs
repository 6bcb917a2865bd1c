//! Settings values checked while serde reads them, not after.
//!
//! serde_json gives an error the position where it was raised; an error raised inside the
//! deserializer call of a value (a string's, a list's) is placed right after that value, so
//! [`crate::input::path_at`] names exactly the field (`allowedAlgorithms[0]`). A
//! `#[serde(try_from)]` conversion runs after that call returns, so its error would be placed
//! after the enclosing object closes and name the parent. These helpers run the conversion
//! inside the call; [`validated_string!`](crate::validated_string) and
//! [`validated_list!`](crate::validated_list) implement `Deserialize` with them.
//!
//! They let the policies carry one copy of their settings' deserializers (no path-tracking
//! second copy): about 50 KB less in pod-security's module.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor, value::SeqAccessDeserializer};

/// Reads a string and converts it with `T::try_from`, the error placed at the string.
pub fn string<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String, Error = String>,
{
    struct Checked<T>(PhantomData<T>);

    impl<T: TryFrom<String, Error = String>> Visitor<'_> for Checked<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
            T::try_from(value.to_owned()).map_err(E::custom)
        }
    }

    deserializer.deserialize_string(Checked(PhantomData))
}

/// Reads a list of strings and converts it with `T::try_from`, the error placed at the list.
pub fn string_list<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<Vec<String>, Error = String>,
{
    struct Checked<T>(PhantomData<T>);

    impl<'de, T: TryFrom<Vec<String>, Error = String>> Visitor<'de> for Checked<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
            let items: Vec<String> =
                serde::Deserialize::deserialize(SeqAccessDeserializer::new(seq))?;
            T::try_from(items).map_err(de::Error::custom)
        }
    }

    deserializer.deserialize_seq(Checked(PhantomData))
}

/// `impl Deserialize` for types read from a string through `TryFrom<String, Error = String>`.
#[macro_export]
macro_rules! validated_string {
    ($($type:ty),+ $(,)?) => {$(
        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::validated::string(deserializer)
            }
        }
    )+};
}

/// `impl Deserialize` for types read from a list of strings through
/// `TryFrom<Vec<String>, Error = String>`.
#[macro_export]
macro_rules! validated_list {
    ($($type:ty),+ $(,)?) => {$(
        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::validated::string_list(deserializer)
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::input::from_json_str;

    #[derive(Debug)]
    struct Even(u8);

    impl TryFrom<String> for Even {
        type Error = String;
        fn try_from(value: String) -> Result<Self, String> {
            match value.parse::<u8>() {
                Ok(n) if n % 2 == 0 => Ok(Self(n)),
                _ => Err(format!("\"{value}\" is not an even number")),
            }
        }
    }

    #[derive(Debug)]
    struct NonEmpty(Vec<String>);

    impl TryFrom<Vec<String>> for NonEmpty {
        type Error = String;
        fn try_from(value: Vec<String>) -> Result<Self, String> {
            if value.is_empty() {
                return Err("empty".into());
            }
            Ok(Self(value))
        }
    }

    crate::validated_string!(Even);
    crate::validated_list!(NonEmpty);

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
        #[serde(default)]
        last: Option<Even>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        evens: Vec<Even>,
        names: Option<NonEmpty>,
    }

    #[test]
    fn errors_name_the_value_even_when_it_is_last() {
        let cases = [
            (
                r#"{"inner":{"evens":["3"]}}"#,
                "inner.evens[0]",
                "\"3\" is not an even number",
            ),
            (
                r#"{"inner":{"evens":["2","5"]}}"#,
                "inner.evens[1]",
                "not an even",
            ),
            (
                r#"{"inner":{"evens":[],"names":[]}}"#,
                "inner.names",
                "empty",
            ),
            (
                r#"{"inner":{"evens":[]},"last":"7"}"#,
                "last",
                "not an even",
            ),
            (
                r#"{"inner":{"evens":[true]}}"#,
                "inner.evens[0]",
                "expected a string",
            ),
            (
                r#"{"inner":{"evens":[]},"last":3}"#,
                "last",
                "expected a string",
            ),
        ];
        for (json, path, message) in cases {
            let error = from_json_str::<Outer>("settings", json).expect_err(json);
            assert_eq!(error.path, path, "{json}: {}", error.message);
            assert!(error.message.contains(message), "{json}: {}", error.message);
        }
        let parsed =
            from_json_str::<Outer>("settings", r#"{"inner":{"evens":["4"],"names":["a"]}}"#)
                .expect("valid");
        assert_eq!(parsed.inner.evens[0].0, 4);
        assert_eq!(parsed.inner.names.map(|n| n.0), Some(vec!["a".to_owned()]));
    }
}

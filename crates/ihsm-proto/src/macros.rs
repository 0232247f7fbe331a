//! The two code generators of the crate: enums with stable wire values, and map-coded structs.
//!
//! Both expand to calls into [`crate::codec`], so the strict decoding rules live in one place.

/// Defines a fieldless enum with explicit, stable wire values: `TryFrom<repr>`, `From<Self>
/// for repr`, an `ALL` list, and the codec (an unsigned integer; an unknown value is refused
/// with [`Status::UnknownEnumValue`](crate::Status::UnknownEnumValue)).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every variant, in the order of definition.
            #[allow(dead_code, reason = "crate-private tag enums never list their variants")]
            pub const ALL: &'static [Self] = &[ $( Self::$variant, )+ ];

            /// The value on the wire.
            #[must_use]
            pub const fn value(self) -> $repr {
                self as $repr
            }
        }

        impl ::core::convert::TryFrom<$repr> for $name {
            type Error = $crate::UnknownValue;

            fn try_from(value: $repr) -> ::core::result::Result<Self, $crate::UnknownValue> {
                match value {
                    $( $value => Ok(Self::$variant), )+
                    other => Err($crate::UnknownValue(u64::from(other))),
                }
            }
        }

        impl ::core::convert::From<$name> for $repr {
            fn from(value: $name) -> $repr {
                value.value()
            }
        }

        impl $crate::codec::Wire for $name {
            fn encode(&self, w: &mut $crate::codec::Writer) {
                w.uint(u64::from(self.value()));
            }

            fn decode(r: &mut $crate::codec::Reader<'_>) -> ::core::result::Result<Self, $crate::DecodeError> {
                let at = r.position();
                let value = r.uint()?;
                <$repr>::try_from(value)
                    .ok()
                    .and_then(|v| Self::try_from(v).ok())
                    .ok_or_else(|| r.error_at(at, $crate::Status::UnknownEnumValue))
            }
        }
    };
}

/// Defines a struct coded as a CBOR map with small unsigned-integer keys.
///
/// Each field is `key => name: Type`; a field of type `Option<T>` is optional, any other is
/// required. Keys must be written in ascending order below 64 (checked at compile time), which
/// makes the encoding canonical. The generated decoder refuses unknown keys, duplicate keys and
/// missing required keys through [`codec::MapReader`](crate::codec::MapReader).
macro_rules! wire_map {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $key:literal => $field:ident: $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = assert!(
            $crate::codec::keys_ascending(&[ $( $key, )* ]),
            concat!("keys of ", stringify!($name), " must be ascending and below 64"),
        );

        #[cfg(test)]
        impl $name {
            /// `(key, field, required, Rust type)` of each field, to check the protocol
            /// document.
            pub(crate) const FIELDS: &'static [$crate::msgs::FieldSchema] = &[
                $( (
                    $key,
                    stringify!($field),
                    <$ty as $crate::codec::Field>::REQUIRED,
                    stringify!($ty),
                ), )*
            ];
        }

        impl $crate::codec::Entries for $name {
            fn entry_count(&self) -> u64 {
                0 $( + u64::from($crate::codec::Field::item(&self.$field).is_some()) )*
            }

            #[allow(unused_variables, reason = "a struct without fields writes nothing")]
            fn encode_entries(&self, w: &mut $crate::codec::Writer) {
                $(
                    if let Some(item) = $crate::codec::Field::item(&self.$field) {
                        w.uint($key);
                        $crate::codec::Wire::encode(item, w);
                    }
                )*
            }

            fn decode_entries(
                r: &mut $crate::codec::Reader<'_>,
                mut map: $crate::codec::MapReader,
            ) -> ::core::result::Result<Self, $crate::DecodeError> {
                const KEYS: u64 = 0 $( | 1u64 << $key )*;
                const REQUIRED: u64 = 0 $(
                    | if <$ty as $crate::codec::Field>::REQUIRED { 1u64 << $key } else { 0 }
                )*;
                $( let mut $field: Option<<$ty as $crate::codec::Field>::Item> = None; )*
                while let Some(key) = map.next(r, KEYS)? {
                    match key {
                        $( $key => $field = Some($crate::codec::Wire::decode(r)?), )*
                        // `next` admits only keys in KEYS; this arm keeps the match total.
                        _ => return Err(r.error($crate::Status::UnknownField)),
                    }
                }
                map.finish(r, REQUIRED)?;
                Ok(Self {
                    $(
                        $field: <$ty as $crate::codec::Field>::from_item($field)
                            .ok_or_else(|| r.error($crate::Status::MissingField))?,
                    )*
                })
            }
        }

        impl $crate::codec::Wire for $name {
            // The map head, and each required entry's key and value.
            const MIN_LEN: usize = 1 $(
                + if <$ty as $crate::codec::Field>::REQUIRED {
                    1 + <<$ty as $crate::codec::Field>::Item as $crate::codec::Wire>::MIN_LEN
                } else {
                    0
                }
            )*;

            fn encode(&self, w: &mut $crate::codec::Writer) {
                w.map($crate::codec::Entries::entry_count(self));
                $crate::codec::Entries::encode_entries(self, w);
            }

            fn decode(r: &mut $crate::codec::Reader<'_>) -> ::core::result::Result<Self, $crate::DecodeError> {
                let map = r.map()?;
                $crate::codec::Entries::decode_entries(r, map)
            }
        }
    };
}

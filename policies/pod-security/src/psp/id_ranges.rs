//! User and group id rules as PodSecurityPolicy states them: `rule` plus inclusive `ranges`.
//!
//! - `MustRunAs`: the id must be set and fall in one of the ranges (at least one range).
//! - `MayRunAs` (groups only): an unset id is fine; a set one must fall in a range (at least one
//!   range).
//! - `MustRunAsNonRoot` (`runAsUser` only): a non-zero user or `runAsNonRoot: true`.
//! - `RunAsAny`: no constraint beyond the level; `ranges` must be empty.
//!
//! Ranges may overlap; an empty range list is refused for the rules that need one, as
//! PodSecurityPolicy refused to build such a strategy.

use std::fmt;

use serde::Deserialize;

/// How a user or group id is constrained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdRule {
    MustRunAs,
    MayRunAs,
    MustRunAsNonRoot,
    RunAsAny,
}

impl TryFrom<String> for IdRule {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "MustRunAs" => Ok(Self::MustRunAs),
            "MayRunAs" => Ok(Self::MayRunAs),
            "MustRunAsNonRoot" => Ok(Self::MustRunAsNonRoot),
            "RunAsAny" => Ok(Self::RunAsAny),
            _ => Err(format!(
                "\"{text}\" is not a rule; expected MustRunAs, MayRunAs, MustRunAsNonRoot or RunAsAny"
            )),
        }
    }
}

pci_shared::validated_string!(IdRule);

impl fmt::Display for IdRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MustRunAs => "MustRunAs",
            Self::MayRunAs => "MayRunAs",
            Self::MustRunAsNonRoot => "MustRunAsNonRoot",
            Self::RunAsAny => "RunAsAny",
        })
    }
}

/// An inclusive id range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdRange {
    pub min: i64,
    pub max: i64,
}

/// `runAsUser`, `runAsGroup`, `supplementalGroups` or `fsGroup`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdStrategy {
    pub rule: IdRule,
    #[serde(default)]
    pub ranges: Vec<IdRange>,
}

/// The largest id Linux accepts (`(uid_t)-1` is reserved).
pub const MAX_ID: i64 = 4_294_967_294;

impl IdStrategy {
    /// Checks the strategy of the setting `name`, whose allowed rules are `rules`.
    pub fn validate(&self, name: &str, rules: &[IdRule]) -> Result<(), String> {
        if !rules.contains(&self.rule) {
            let names: Vec<String> = rules.iter().map(ToString::to_string).collect();
            return Err(format!(
                "{name}.rule: {} is not a rule of {name}; expected {}",
                self.rule,
                names.join(", ")
            ));
        }
        let needs_ranges = matches!(self.rule, IdRule::MustRunAs | IdRule::MayRunAs);
        if needs_ranges && self.ranges.is_empty() {
            return Err(format!(
                "{name}.ranges: {} needs at least one range",
                self.rule
            ));
        }
        if !needs_ranges && !self.ranges.is_empty() {
            return Err(format!(
                "{name}.ranges: {} takes no ranges; remove them or use MustRunAs",
                self.rule
            ));
        }
        for (index, range) in self.ranges.iter().enumerate() {
            if range.min < 0 || range.max < 0 {
                return Err(format!(
                    "{name}.ranges[{index}]: ids are not negative, got min {} and max {}",
                    range.min, range.max
                ));
            }
            if range.max > MAX_ID {
                return Err(format!(
                    "{name}.ranges[{index}]: max {} is above the largest id {MAX_ID}",
                    range.max
                ));
            }
            if range.min > range.max {
                return Err(format!(
                    "{name}.ranges[{index}]: min {} is greater than max {}",
                    range.min, range.max
                ));
            }
        }
        Ok(())
    }

    /// True when `id` falls in one of the ranges.
    pub fn contains(&self, id: i64) -> bool {
        self.ranges.iter().any(|r| (r.min..=r.max).contains(&id))
    }

    /// True when the ranges constrain the id and include root (0).
    pub fn allows_root(&self) -> bool {
        self.rule == IdRule::MustRunAs && self.contains(0)
    }

    /// The value PodSecurityPolicy defaulted an unset id to: the first range's minimum, for
    /// `MustRunAs` only.
    pub fn default_id(&self) -> Option<i64> {
        match self.rule {
            IdRule::MustRunAs => self.ranges.first().map(|r| r.min),
            _ => None,
        }
    }

    /// The ranges for messages: `1000-1999, 5000`.
    pub fn describe(&self) -> String {
        let shown: Vec<String> = self
            .ranges
            .iter()
            .map(|r| {
                if r.min == r.max {
                    r.min.to_string()
                } else {
                    format!("{}-{}", r.min, r.max)
                }
            })
            .collect();
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn strategy(json: &str) -> IdStrategy {
        serde_json::from_str(json).expect("valid strategy")
    }

    const GROUP_RULES: &[IdRule] = &[IdRule::MustRunAs, IdRule::MayRunAs, IdRule::RunAsAny];

    #[test]
    fn ranges_are_inclusive_and_may_overlap() {
        let s = strategy(
            r#"{"rule":"MustRunAs","ranges":[{"min":1000,"max":2000},{"min":1500,"max":3000},{"min":5,"max":5}]}"#,
        );
        assert!(s.validate("fsGroup", GROUP_RULES).is_ok());
        for id in [5, 1000, 2000, 3000] {
            assert!(s.contains(id), "{id}");
        }
        for id in [0, 4, 6, 999, 3001] {
            assert!(!s.contains(id), "{id}");
        }
        assert_eq!(s.describe(), "1000-2000, 1500-3000, 5");
        assert_eq!(s.default_id(), Some(1000));
        assert!(!s.allows_root());
    }

    #[rstest]
    #[case(
        r#"{"rule":"MustRunAs"}"#,
        "fsGroup.ranges: MustRunAs needs at least one range"
    )]
    #[case(
        r#"{"rule":"MayRunAs","ranges":[]}"#,
        "fsGroup.ranges: MayRunAs needs at least one range"
    )]
    #[case(
        r#"{"rule":"RunAsAny","ranges":[{"min":1,"max":2}]}"#,
        "fsGroup.ranges: RunAsAny takes no ranges"
    )]
    #[case(
        r#"{"rule":"MustRunAs","ranges":[{"min":-1,"max":2}]}"#,
        "fsGroup.ranges[0]: ids are not negative"
    )]
    #[case(
        r#"{"rule":"MustRunAs","ranges":[{"min":1,"max":2},{"min":9,"max":3}]}"#,
        "fsGroup.ranges[1]: min 9 is greater than max 3"
    )]
    #[case(
        r#"{"rule":"MustRunAs","ranges":[{"min":1,"max":4294967295}]}"#,
        "above the largest id"
    )]
    #[case(
        r#"{"rule":"MustRunAsNonRoot"}"#,
        "fsGroup.rule: MustRunAsNonRoot is not a rule of fsGroup"
    )]
    fn refuses_bad_strategies_naming_the_path(#[case] json: &str, #[case] expected: &str) {
        let error = strategy(json)
            .validate("fsGroup", GROUP_RULES)
            .expect_err("invalid");
        assert!(error.contains(expected), "{error}");
    }

    #[test]
    fn unknown_rules_and_fields_are_refused_when_read() {
        let error = serde_json::from_str::<IdStrategy>(r#"{"rule":"MustRunAsRoot"}"#).unwrap_err();
        assert!(error.to_string().contains("is not a rule"), "{error}");
        assert!(serde_json::from_str::<IdStrategy>(r#"{"rule":"RunAsAny","range":[]}"#).is_err());
    }
}

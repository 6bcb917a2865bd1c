//! Policy groups (`ClusterAdmissionPolicyGroup`) as policy-server evaluates them: the members
//! are zero-argument functions in a boolean expression (`==`, `!=`, `&&`, `||`, `!`,
//! parentheses), evaluated lazily with short-circuit. A member is true only when it accepts
//! without a patch; a rejection, an error, a trap or a timeout, and a patch ("mutation is not
//! allowed inside of policy group") are all false. The group's response carries its message
//! and one cause per evaluated member that said no.

use std::collections::BTreeSet;

/// Words the Kubewarden controller's CEL environment reserves: no group member may be called so.
pub const CEL_RESERVED_WORDS: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// A parsed group expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression(Node);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Literal(bool),
    Member(String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Equal(Box<Node>, Box<Node>),
    NotEqual(Box<Node>, Box<Node>),
}

/// One token of an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Name(String),
    /// A member call, `name()` (spaces allowed before and inside the parentheses).
    Call(String),
    And,
    Or,
    Not,
    Equal,
    NotEqual,
    Open,
    Close,
}

/// A token and where it is written: `span` is a byte range of the expression's text, so
/// `&text[span]` is the token as written. Every position in this module is a byte offset into
/// the text (one unit: a multi-byte space is as wide as it is written); messages give the
/// 1-based character column a person counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned {
    pub token: Token,
    pub span: std::ops::Range<usize>,
}

/// The 1-based character column of byte offset `at` of `text`.
fn column(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |before| before.chars().count()) + 1
}

/// The length of the name starting at byte `at` (`_`, ASCII letters and digits).
fn name_len(rest: &str) -> usize {
    rest.find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(rest.len())
}

/// The byte length of the whitespace at the start of `rest`.
fn space_len(rest: &str) -> usize {
    rest.len() - rest.trim_start().len()
}

/// The tokens of `text`, each with its byte span.
pub fn tokenize(text: &str) -> Result<Vec<Spanned>, String> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        let rest = &text[at..];
        if c.is_whitespace() {
            at += c.len_utf8();
            continue;
        }
        let operator = [
            ("&&", Token::And),
            ("||", Token::Or),
            ("==", Token::Equal),
            ("!=", Token::NotEqual),
            ("!", Token::Not),
            ("(", Token::Open),
            (")", Token::Close),
        ]
        .into_iter()
        .find(|(written, _)| rest.starts_with(written));
        let (token, width) = match operator {
            Some((written, token)) => (token, written.len()),
            None if c == '_' || c.is_ascii_alphabetic() => {
                let end = name_len(rest);
                let name = rest[..end].to_owned();
                // `name ( )`: a call, spaces allowed around the opening parenthesis.
                let open = end + space_len(&rest[end..]);
                if rest[open..].starts_with('(') {
                    let close = open + 1 + space_len(&rest[open + 1..]);
                    if !rest[close..].starts_with(')') {
                        return Err(format!(
                            "member {name}() takes no arguments (column {})",
                            column(text, at + close)
                        ));
                    }
                    (Token::Call(name), close + 1)
                } else {
                    (Token::Name(name), end)
                }
            }
            None => {
                return Err(format!(
                    "{c:?} at column {} is not allowed in a group expression",
                    column(text, at)
                ));
            }
        };
        tokens.push(Spanned {
            token,
            span: at..at + width,
        });
        at += width;
    }
    Ok(tokens)
}

impl Token {
    /// The token written the shortest way (`a()`, `&&`).
    pub fn written(&self) -> String {
        match self {
            Self::Name(name) => name.clone(),
            Self::Call(name) => format!("{name}()"),
            Self::And => "&&".into(),
            Self::Or => "||".into(),
            Self::Not => "!".into(),
            Self::Equal => "==".into(),
            Self::NotEqual => "!=".into(),
            Self::Open => "(".into(),
            Self::Close => ")".into(),
        }
    }
}

/// What every tokenization of `text` guarantees, for the tests and the fuzz target: spans in
/// order, not overlapping, on character boundaries, only whitespace between them, and each
/// span's text tokenizes to its token alone.
pub fn check_spans(text: &str, tokens: &[Spanned]) -> Result<(), String> {
    let mut end = 0;
    for Spanned { token, span } in tokens {
        let (Some(between), Some(written)) = (text.get(end..span.start), text.get(span.clone()))
        else {
            return Err(format!("{span:?} is not a span of {text:?}"));
        };
        if !between.chars().all(char::is_whitespace) {
            return Err(format!("{between:?} before {span:?} is skipped"));
        }
        match tokenize(written) {
            Ok(again) if again.len() == 1 && again[0].token == *token => {}
            other => return Err(format!("{written:?} at {span:?} reads as {other:?}")),
        }
        end = span.end;
    }
    match text.get(end..) {
        Some(rest) if rest.chars().all(char::is_whitespace) => Ok(()),
        _ => Err(format!("the text after byte {end} is skipped")),
    }
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    Ok(tokenize(text)?.into_iter().map(|t| t.token).collect())
}

/// Recursive descent, lowest precedence first: `||`, `&&`, `==`/`!=`, `!`, atoms.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn next_is(&mut self, token: &Token) -> bool {
        if self.tokens.get(self.at) == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut node = self.and()?;
        while self.next_is(&Token::Or) {
            node = Node::Or(Box::new(node), Box::new(self.and()?));
        }
        Ok(node)
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut node = self.comparison()?;
        while self.next_is(&Token::And) {
            node = Node::And(Box::new(node), Box::new(self.comparison()?));
        }
        Ok(node)
    }

    fn comparison(&mut self) -> Result<Node, String> {
        let mut node = self.unary()?;
        loop {
            if self.next_is(&Token::Equal) {
                node = Node::Equal(Box::new(node), Box::new(self.unary()?));
            } else if self.next_is(&Token::NotEqual) {
                node = Node::NotEqual(Box::new(node), Box::new(self.unary()?));
            } else {
                return Ok(node);
            }
        }
    }

    fn unary(&mut self) -> Result<Node, String> {
        if self.next_is(&Token::Not) {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Open) => {
                let node = self.or()?;
                if !self.next_is(&Token::Close) {
                    return Err("a parenthesis is not closed".into());
                }
                Ok(node)
            }
            Some(Token::Call(name)) => Ok(Node::Member(name)),
            Some(Token::Name(name)) if name == "true" => Ok(Node::Literal(true)),
            Some(Token::Name(name)) if name == "false" => Ok(Node::Literal(false)),
            Some(Token::Name(name)) => Err(format!(
                "{name} is not a call: members are called as {name}()"
            )),
            Some(other) => Err(format!("unexpected {other:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

impl Expression {
    /// Parses `text`; only the operators policy-server's controller allows.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        let node = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(format!(
                "unexpected {:?} after the expression",
                parser.tokens[parser.at]
            ));
        }
        Ok(Self(node))
    }

    /// The members the expression calls.
    pub fn members(&self) -> BTreeSet<String> {
        let mut members = BTreeSet::new();
        self.0.visit(false, &mut |name, _| {
            members.insert(name.to_owned());
        });
        members
    }

    /// Members whose false could make the expression true: under `!` or compared with `==` /
    /// `!=`. An erroring member reads as false, so such a member fails open.
    pub fn members_that_can_fail_open(&self) -> BTreeSet<String> {
        let mut members = BTreeSet::new();
        self.0.visit(false, &mut |name, inverted| {
            if inverted {
                members.insert(name.to_owned());
            }
        });
        members
    }

    /// Evaluates with `member` answering each call, lazily and left to right.
    pub fn evaluate(&self, member: &mut dyn FnMut(&str) -> bool) -> bool {
        self.0.evaluate(member)
    }
}

impl Node {
    /// Calls `found(name, inverted)` for every member; `inverted` when its false can count as
    /// true (under an odd number of `!`, or inside a comparison).
    fn visit(&self, inverted: bool, found: &mut dyn FnMut(&str, bool)) {
        match self {
            Self::Literal(_) => {}
            Self::Member(name) => found(name, inverted),
            Self::Not(node) => node.visit(!inverted, found),
            Self::And(left, right) | Self::Or(left, right) => {
                left.visit(inverted, found);
                right.visit(inverted, found);
            }
            Self::Equal(left, right) | Self::NotEqual(left, right) => {
                left.visit(true, found);
                right.visit(true, found);
            }
        }
    }

    fn evaluate(&self, member: &mut dyn FnMut(&str) -> bool) -> bool {
        match self {
            Self::Literal(value) => *value,
            Self::Member(name) => member(name),
            Self::Not(node) => !node.evaluate(member),
            Self::And(left, right) => left.evaluate(member) && right.evaluate(member),
            Self::Or(left, right) => left.evaluate(member) || right.evaluate(member),
            Self::Equal(left, right) => left.evaluate(member) == right.evaluate(member),
            Self::NotEqual(left, right) => left.evaluate(member) != right.evaluate(member),
        }
    }
}

/// What one member answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberAnswer {
    /// Accepted without a patch: true.
    Accepted,
    /// Rejected, with its message: false.
    Rejected(String),
    /// Returned a patch: false, as policy-server counts it.
    Patched,
    /// Errored, trapped or timed out: false.
    Failed(String),
}

/// A group's verdict: allowed, and the causes (`spec.policies.<member>`, message) of every
/// evaluated member that said no, in evaluation order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupVerdict {
    pub allowed: bool,
    pub message: Option<String>,
    pub causes: Vec<(String, String)>,
    /// The members evaluated (the others were short-circuited).
    pub evaluated: Vec<String>,
}

/// Evaluates `expression` with `member` answering each member once.
pub fn evaluate_group(
    expression: &Expression,
    message: &str,
    member: &mut dyn FnMut(&str) -> MemberAnswer,
) -> GroupVerdict {
    let mut causes = Vec::new();
    let mut evaluated = Vec::new();
    let allowed = expression.evaluate(&mut |name| {
        evaluated.push(name.to_owned());
        let (verdict, cause) = match member(name) {
            MemberAnswer::Accepted => (true, None),
            MemberAnswer::Rejected(message) | MemberAnswer::Failed(message) => {
                (false, Some(message))
            }
            MemberAnswer::Patched => (
                false,
                Some("mutation is not allowed inside of policy group".to_owned()),
            ),
        };
        if let Some(cause) = cause {
            causes.push((format!("spec.policies.{name}"), cause));
        }
        verdict
    });
    GroupVerdict {
        allowed,
        message: (!allowed).then(|| message.to_owned()),
        causes: if allowed { Vec::new() } else { causes },
        evaluated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(expression: &str, answers: &[(&str, bool)]) -> bool {
        Expression::parse(expression)
            .unwrap()
            .evaluate(&mut |name| {
                answers
                    .iter()
                    .find(|(member, _)| *member == name)
                    .map(|(_, value)| *value)
                    .unwrap()
            })
    }

    #[test]
    fn expressions_parse_and_evaluate_with_precedence() {
        let e = "a() || b() && c()";
        assert!(truth(e, &[("a", true), ("b", false), ("c", false)]));
        assert!(!truth(e, &[("a", false), ("b", true), ("c", false)]));
        assert!(truth(
            "(a() || b()) && !c()",
            &[("a", false), ("b", true), ("c", false)]
        ));
        assert!(truth("a() == b()", &[("a", false), ("b", false)]));
        assert!(truth("a( ) != true", &[("a", false)]));
    }

    #[test]
    fn bad_expressions_are_refused_with_the_reason() {
        for (text, reason) in [
            ("a() + b()", "'+'"),
            ("a", "not a call"),
            ("a(1)", "no arguments"),
            ("(a() || b()", "not closed"),
            ("a() b()", "after the expression"),
            ("a() ||", "ends too early"),
        ] {
            let error = Expression::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    /// Issue 29: the tokenizer counted characters but skipped a call's parentheses in bytes,
    /// so a multi-byte space inside `a( )` swallowed what followed.
    #[test]
    fn multi_byte_spaces_keep_every_position() {
        for space in ['\u{00A0}', '\u{3000}', '\u{2003}'] {
            let text = format!("a({space}) || b{space}()");
            let e = Expression::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(e, Expression::parse("a() || b()").unwrap(), "{text:?}");
            let tokens = tokenize(&text).unwrap();
            check_spans(&text, &tokens).unwrap();
            assert_eq!(&text[tokens[1].span.clone()], "||");
            // The column of an error counts characters: six before `+`.
            let error = Expression::parse(&format!("{space}{space}a(){space}+")).unwrap_err();
            assert!(error.contains("column 7"), "{error}");
        }
    }

    /// A fixed number of generated expressions (names, calls, operators, parentheses, ASCII
    /// and multi-byte spaces, stray characters): tokenizing never panics, spans round-trip,
    /// and an expression means the same written the shortest way.
    #[test]
    fn generated_expressions_round_trip_through_their_spans() {
        const PIECES: [&str; 17] = [
            "a()",
            "member_2 ( )",
            "b(\u{3000})",
            "x",
            "&&",
            "||",
            "!",
            "==",
            "!=",
            "(",
            ")",
            " ",
            "\u{00A0}",
            "\u{3000}\t",
            "+",
            "é",
            "true",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64*: deterministic, no dependency.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for _ in 0..5_000 {
            let length = next() % 12;
            let text: String = (0..length)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let Ok(tokens) = tokenize(&text) else {
                continue;
            };
            check_spans(&text, &tokens).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let shortest: Vec<String> = tokens.iter().map(|t| t.token.written()).collect();
            assert_eq!(
                Expression::parse(&text).ok(),
                Expression::parse(&shortest.join(" ")).ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn members_that_can_fail_open_are_found() {
        let e = Expression::parse("a() || !(b() && c()) || d() == e()").unwrap();
        assert_eq!(e.members().len(), 5);
        let open: Vec<String> = e.members_that_can_fail_open().into_iter().collect();
        assert_eq!(open, ["b", "c", "d", "e"]);
        assert!(
            Expression::parse("!!a() || b()")
                .unwrap()
                .members_that_can_fail_open()
                .is_empty()
        );
    }

    #[test]
    fn evaluation_is_lazy_and_collects_the_causes_of_no() {
        let e = Expression::parse("a() || b() || c()").unwrap();
        let verdict = evaluate_group(&e, "nope", &mut |name| match name {
            "a" => MemberAnswer::Failed("registry unreachable".into()),
            "b" => MemberAnswer::Patched,
            _ => MemberAnswer::Rejected("untrusted".into()),
        });
        assert!(!verdict.allowed);
        assert_eq!(verdict.message.as_deref(), Some("nope"));
        assert_eq!(
            verdict.causes,
            [
                ("spec.policies.a".into(), "registry unreachable".into()),
                (
                    "spec.policies.b".into(),
                    "mutation is not allowed inside of policy group".into()
                ),
                ("spec.policies.c".into(), "untrusted".into()),
            ]
        );
        let verdict = evaluate_group(&e, "nope", &mut |name| match name {
            "a" => MemberAnswer::Rejected("no".into()),
            _ => MemberAnswer::Accepted,
        });
        assert!(verdict.allowed);
        assert_eq!(verdict.evaluated, ["a", "b"], "c is short-circuited");
        assert!(verdict.causes.is_empty());
    }
}

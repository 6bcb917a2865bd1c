//! Host answers remembered for the length of one request, so that an image written in several
//! containers (or a key named by several rules) costs one host call, not one per mention. A new
//! request starts empty: tags move and signatures change, so nothing is kept between requests.

/// Answers of type `V` by question `K`, asked at most once each.
#[derive(Debug)]
pub struct HostAnswers<K, V> {
    known: Vec<(K, V)>,
}

impl<K, V> Default for HostAnswers<K, V> {
    fn default() -> Self {
        Self { known: Vec::new() }
    }
}

impl<K: PartialEq, V: Clone> HostAnswers<K, V> {
    /// The answer to `question`, asking with `ask` only the first time it is put.
    pub fn get_or_ask(&mut self, question: K, ask: impl FnOnce(&K) -> V) -> V {
        if let Some((_, answer)) = self.known.iter().find(|(known, _)| *known == question) {
            return answer.clone();
        }
        let answer = ask(&question);
        self.known.push((question, answer.clone()));
        answer
    }

    /// How many distinct questions were asked.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// True when nothing was asked yet.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_question_is_asked_once_and_answered_the_same() {
        let mut answers = HostAnswers::default();
        let mut asked = Vec::new();
        for question in ["a", "b", "a", "a", "b"] {
            let answer = answers.get_or_ask(question.to_owned(), |q| {
                asked.push(q.clone());
                format!("answer to {q}")
            });
            assert_eq!(answer, format!("answer to {question}"));
        }
        assert_eq!(asked, ["a", "b"]);
        assert_eq!(answers.len(), 2);
    }
}

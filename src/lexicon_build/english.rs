//! English inflection for the concepts' English words: plural and third person (`-s`),
//! past (`-ed`) and `-ing`, with the spelling rules, and the irregular verbs young people
//! write about. It over-generates a little (a noun gets verb forms); a form that is no word
//! is never typed, so it costs nothing.

/// The irregular verbs: base, past, past participle.
const IRREGULAR: &[(&str, &str, &str)] = &[
    ("be", "was", "been"),
    ("beat", "beat", "beaten"),
    ("become", "became", "become"),
    ("begin", "began", "begun"),
    ("bite", "bit", "bitten"),
    ("bleed", "bled", "bled"),
    ("blow", "blew", "blown"),
    ("break", "broke", "broken"),
    ("bring", "brought", "brought"),
    ("build", "built", "built"),
    ("burn", "burnt", "burnt"),
    ("buy", "bought", "bought"),
    ("catch", "caught", "caught"),
    ("choose", "chose", "chosen"),
    ("come", "came", "come"),
    ("cost", "cost", "cost"),
    ("cut", "cut", "cut"),
    ("deal", "dealt", "dealt"),
    ("do", "did", "done"),
    ("draw", "drew", "drawn"),
    ("drink", "drank", "drunk"),
    ("drive", "drove", "driven"),
    ("eat", "ate", "eaten"),
    ("fall", "fell", "fallen"),
    ("feed", "fed", "fed"),
    ("feel", "felt", "felt"),
    ("fight", "fought", "fought"),
    ("find", "found", "found"),
    ("flee", "fled", "fled"),
    ("fly", "flew", "flown"),
    ("forbid", "forbade", "forbidden"),
    ("forget", "forgot", "forgotten"),
    ("freeze", "froze", "frozen"),
    ("get", "got", "gotten"),
    ("give", "gave", "given"),
    ("go", "went", "gone"),
    ("grow", "grew", "grown"),
    ("hang", "hung", "hung"),
    ("have", "had", "had"),
    ("hear", "heard", "heard"),
    ("hide", "hid", "hidden"),
    ("hit", "hit", "hit"),
    ("hold", "held", "held"),
    ("hurt", "hurt", "hurt"),
    ("keep", "kept", "kept"),
    ("know", "knew", "known"),
    ("lay", "laid", "laid"),
    ("lead", "led", "led"),
    ("leave", "left", "left"),
    ("lend", "lent", "lent"),
    ("let", "let", "let"),
    ("lie", "lay", "lain"),
    ("lose", "lost", "lost"),
    ("make", "made", "made"),
    ("mean", "meant", "meant"),
    ("meet", "met", "met"),
    ("pay", "paid", "paid"),
    ("put", "put", "put"),
    ("quit", "quit", "quit"),
    ("read", "read", "read"),
    ("ride", "rode", "ridden"),
    ("ring", "rang", "rung"),
    ("rise", "rose", "risen"),
    ("run", "ran", "run"),
    ("say", "said", "said"),
    ("see", "saw", "seen"),
    ("sell", "sold", "sold"),
    ("send", "sent", "sent"),
    ("set", "set", "set"),
    ("shake", "shook", "shaken"),
    ("shoot", "shot", "shot"),
    ("show", "showed", "shown"),
    ("shut", "shut", "shut"),
    ("sing", "sang", "sung"),
    ("sink", "sank", "sunk"),
    ("sit", "sat", "sat"),
    ("sleep", "slept", "slept"),
    ("slide", "slid", "slid"),
    ("speak", "spoke", "spoken"),
    ("spend", "spent", "spent"),
    ("stand", "stood", "stood"),
    ("steal", "stole", "stolen"),
    ("stick", "stuck", "stuck"),
    ("sting", "stung", "stung"),
    ("strike", "struck", "struck"),
    ("swallow", "swallowed", "swallowed"),
    ("swear", "swore", "sworn"),
    ("swim", "swam", "swum"),
    ("take", "took", "taken"),
    ("teach", "taught", "taught"),
    ("tear", "tore", "torn"),
    ("tell", "told", "told"),
    ("think", "thought", "thought"),
    ("throw", "threw", "thrown"),
    ("understand", "understood", "understood"),
    ("wake", "woke", "woken"),
    ("wear", "wore", "worn"),
    ("win", "won", "won"),
    ("write", "wrote", "written"),
];

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Whether the final consonant doubles before -ed and -ing (stop → stopped): one syllable
/// ending consonant–vowel–consonant, not w, x or y.
fn doubles(word: &str) -> bool {
    let c: Vec<char> = word.chars().collect();
    let n = c.len();
    n >= 3
        && !is_vowel(c[n - 1])
        && !matches!(c[n - 1], 'w' | 'x' | 'y')
        && is_vowel(c[n - 2])
        && !is_vowel(c[n - 3])
        && c.iter().filter(|&&ch| is_vowel(ch)).count() == 1
}

/// Every form of an English word (the word itself first).
pub fn forms(word: &str) -> Vec<String> {
    let word = word.to_lowercase();
    let mut out = vec![word.clone()];
    let mut push = |form: String| {
        if !out.contains(&form) {
            out.push(form);
        }
    };
    if !word.chars().all(|c| c.is_ascii_alphabetic()) || word.len() < 2 {
        return out;
    }
    let irregular = IRREGULAR.iter().find(|(base, _, _)| *base == word);
    if let Some(&(_, past, participle)) = irregular {
        push(past.to_string());
        push(participle.to_string());
    }
    let last = word.chars().last().unwrap_or_default();
    let before_last = word.chars().rev().nth(1).unwrap_or_default();
    // -s
    if word.ends_with('s')
        || word.ends_with('x')
        || word.ends_with('z')
        || word.ends_with("ch")
        || word.ends_with("sh")
        || word.ends_with('o')
    {
        push(format!("{word}es"));
    } else if last == 'y' && !is_vowel(before_last) {
        push(format!("{}ies", &word[..word.len() - 1]));
    } else {
        push(format!("{word}s"));
    }
    // -ed (irregular verbs have theirs above) and -ing
    let regular = irregular.is_none();
    if last == 'e' {
        if regular {
            push(format!("{word}d"));
        }
        if !word.ends_with("ee") {
            push(format!("{}ing", &word[..word.len() - 1]));
        } else {
            push(format!("{word}ing"));
        }
    } else if last == 'y' && !is_vowel(before_last) {
        if regular {
            push(format!("{}ied", &word[..word.len() - 1]));
        }
        push(format!("{word}ing"));
    } else if doubles(&word) {
        if regular {
            push(format!("{word}{last}ed"));
        }
        push(format!("{word}{last}ing"));
    } else {
        if regular {
            push(format!("{word}ed"));
        }
        push(format!("{word}ing"));
    }
    out
}

/// The base form of an inflected English word ("asks", "asking", "begged" → "ask",
/// "ask", "beg"), when one of the candidate bases is a known word whose forms include it;
/// otherwise the word itself. `known` says whether a word is an English headword.
pub fn base_of(word: &str, known: impl Fn(&str) -> bool) -> String {
    let word = word.to_lowercase();
    if known(&word) && !word.ends_with("ing") && !word.ends_with("ed") {
        return word;
    }
    if let Some(&(base, _, _)) = IRREGULAR
        .iter()
        .find(|(_, past, participle)| *past == word || *participle == word)
    {
        return base.to_string();
    }
    let mut candidates: Vec<String> = Vec::new();
    for suffix in ["ing", "ed", "es", "s", "d"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|s| s.len() >= 2) {
            candidates.push(stem.to_string());
            candidates.push(format!("{stem}e"));
            if let Some(undoubled) = stem
                .strip_suffix(|c: char| stem.ends_with(&format!("{c}{c}")))
                .filter(|s| s.len() >= 2)
            {
                candidates.push(undoubled.to_string());
            }
            if let Some(y) = stem.strip_suffix('i') {
                candidates.push(format!("{y}y"));
            }
        }
    }
    candidates
        .into_iter()
        .find(|c| known(c) && forms(c).contains(&word))
        .unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inflected_word_finds_its_base() {
        let known = |w: &str| ["ask", "make", "beg", "bully", "tell", "threaten"].contains(&w);
        assert_eq!(base_of("asking", known), "ask");
        assert_eq!(base_of("asks", known), "ask");
        assert_eq!(base_of("making", known), "make");
        assert_eq!(base_of("begged", known), "beg");
        assert_eq!(base_of("bullies", known), "bully");
        assert_eq!(base_of("told", known), "tell");
        assert_eq!(base_of("threatening", known), "threaten");
        // Unknown: the word itself.
        assert_eq!(base_of("snapchatting", known), "snapchatting");
    }

    #[test]
    fn regular_and_irregular_forms() {
        assert!(forms("bully").contains(&"bullied".to_string()));
        assert!(forms("bully").contains(&"bullies".to_string()));
        assert!(forms("take").contains(&"took".to_string()));
        assert!(forms("take").contains(&"taking".to_string()));
        assert!(forms("stop").contains(&"stopped".to_string()));
        assert!(forms("breathe").contains(&"breathing".to_string()));
        assert!(forms("punch").contains(&"punches".to_string()));
        assert!(!forms("kill").contains(&"killled".to_string()));
        // Irregular verbs take their own past forms, not "-ed".
        assert!(forms("take").contains(&"took".to_string()));
        assert!(!forms("take").contains(&"taked".to_string()));
    }
}

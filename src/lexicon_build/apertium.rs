//! Apertium's Bokmål and Nynorsk morphological analysers and its Bokmål→Nynorsk translator
//! (Debian's `apertium-nno-nob`), run as processes: `lt-proc` reads one word per line and
//! writes `^form/lemma<tags>/lemma<tags>$`; with `-e` it also splits compounds
//! (`^russefeiring/russ<n>…<cmp>+feiring<n>…$`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// One part of an analysis: a lemma and its tags (`n`, `vblex`, `adj`, `sg`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub lemma: String,
    pub tags: Vec<String>,
}

impl Part {
    /// The part of speech as the concepts file names it: `n`, `v`, `adj`, `adv`, or the
    /// first tag.
    pub fn pos(&self) -> &str {
        match self.tags.first().map(String::as_str) {
            Some("vblex" | "vbmod" | "vaux" | "vbser" | "vbhaver") => "v",
            Some(tag) => tag,
            None => "",
        }
    }
}

/// One analysis: one part, or the parts of a compound, first to last.
pub type Analysis = Vec<Part>;

/// The analysers and translator of one installation.
#[derive(Debug, Clone)]
pub struct Apertium {
    dir: PathBuf,
}

/// Which analyser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Bokmal,
    Nynorsk,
}

impl Apertium {
    /// `dir` holds `nob-nno.automorf.bin` and `nno-nob.automorf.bin`.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        for file in ["nob-nno.automorf.bin", "nno-nob.automorf.bin"] {
            if !dir.join(file).exists() {
                bail!("{} has no {file} (install apertium-nno-nob)", dir.display());
            }
        }
        Ok(Apertium {
            dir: dir.to_path_buf(),
        })
    }

    fn analyser(&self, language: Language) -> PathBuf {
        self.dir.join(match language {
            Language::Bokmal => "nob-nno.automorf.bin",
            Language::Nynorsk => "nno-nob.automorf.bin",
        })
    }

    /// The analyses of each word, in order; empty for a word the analyser does not know.
    /// With `compounds`, words the dictionary lacks are split into known parts.
    pub fn analyse(
        &self,
        language: Language,
        words: &[String],
        compounds: bool,
    ) -> anyhow::Result<Vec<Vec<Analysis>>> {
        let mut command = Command::new("lt-proc");
        if compounds {
            command.arg("-e");
        }
        command.arg(self.analyser(language));
        let lines = run_lines(command, words)?;
        Ok(lines.iter().map(|line| parse_line(line)).collect())
    }

    /// Bokmål words and phrases translated to Nynorsk, one line each.
    pub fn to_nynorsk(&self, lines: &[String]) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::with_capacity(lines.len());
        translate_halving(lines, &mut out)?;
        Ok(out)
    }
}

/// Now and then the translator splits one input into two lines (a phrase with punctuation):
/// then the batch is halved until the culprit is alone, and that one stays as it is.
fn translate_halving(lines: &[String], out: &mut Vec<String>) -> anyhow::Result<()> {
    let mut command = Command::new("apertium");
    command.args(["-u", "-f", "line", "nob-nno"]);
    match run_lines(command, lines) {
        Ok(translated) => out.extend(translated),
        Err(_) if lines.len() == 1 => out.push(lines[0].clone()),
        Err(e) if lines.is_empty() => return Err(e),
        Err(_) => {
            let (first, second) = lines.split_at(lines.len() / 2);
            translate_halving(first, out)?;
            translate_halving(second, out)?;
        }
    }
    Ok(())
}

/// Runs `command` with `inputs` on standard input, one per line, and gives one output line
/// per input line.
fn run_lines(mut command: Command, inputs: &[String]) -> anyhow::Result<Vec<String>> {
    let name = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {name} (install lttoolbox and apertium)"))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let text: String = inputs
        .iter()
        .map(|w| format!("{}\n", w.replace('\n', " ")))
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut out = Vec::with_capacity(inputs.len());
    for line in BufReader::new(stdout).lines() {
        out.push(line?);
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("{name}: writer panicked"))??;
    let status = child.wait()?;
    if !status.success() {
        bail!("{name} failed: {status}");
    }
    if out.len() != inputs.len() {
        bail!(
            "{name} gave {} lines for {} inputs",
            out.len(),
            inputs.len()
        );
    }
    Ok(out)
}

/// `^form/a<n><sg>/b<cmp>+c<n>$` → the analyses. A line the analyser split into several
/// units, or an unknown word (`*form`), has none.
fn parse_line(line: &str) -> Vec<Analysis> {
    let line = line.trim();
    let Some(unit) = line.strip_prefix('^').and_then(|l| l.strip_suffix('$')) else {
        return Vec::new();
    };
    if unit.contains("$ ^") || unit.contains("$^") {
        return Vec::new();
    }
    let mut readings = unit.split('/');
    readings.next();
    readings
        .filter(|r| !r.starts_with('*'))
        .map(|reading| reading.split('+').map(parse_part).collect())
        .collect()
}

fn parse_part(text: &str) -> Part {
    let (lemma, tags) = text.split_once('<').unwrap_or((text, ""));
    let tags = tags
        .split('<')
        .map(|t| t.trim_end_matches('>').to_string())
        .filter(|t| !t.is_empty())
        .collect();
    Part {
        lemma: lemma.to_string(),
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyses_and_compounds_are_parsed() {
        let a = parse_line("^puster/puste<vblex><pres>/pust<n><m><pl><ind>$");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0][0].lemma, "puste");
        assert_eq!(a[0][0].pos(), "v");
        assert_eq!(a[1][0].pos(), "n");
        let c = parse_line("^russefeiring/russ<n><m><sg><ind><cmp>+feiring<n><m><sg><ind>$");
        assert_eq!(c[0].len(), 2);
        assert_eq!(c[0][1].lemma, "feiring");
        assert!(parse_line("^kjæresteoppførsel/*kjæresteoppførsel$").is_empty());
    }
}

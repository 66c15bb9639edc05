//! Tables for people, in the style of `kubectl get`: columns separated by two spaces, no
//! borders, headers in capitals. A table fits the width it is given: the columns marked
//! `shrink` (names, messages) are shortened with `…`, widest first, until it fits; every other
//! cell (numbers, dates, ids, quota types) is kept whole and never broken across lines. With
//! no width (not a terminal, or a terminal that reports 0 columns) nothing is shortened.
//! Colour is applied after layout, so it never changes a width.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub align: Align,
    /// May be shortened with `…` to fit the width.
    pub shrink: bool,
}

impl Column {
    pub const fn left(header: &'static str) -> Column {
        Column {
            header,
            align: Align::Left,
            shrink: false,
        }
    }

    pub const fn right(header: &'static str) -> Column {
        Column {
            header,
            align: Align::Right,
            shrink: false,
        }
    }

    pub const fn shrink(header: &'static str) -> Column {
        Column {
            header,
            align: Align::Left,
            shrink: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Yellow,
    Red,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Yellow => "33",
            Color::Red => "31",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub color: Option<Color>,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, color: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

impl Cell {
    pub fn colored(text: impl Into<String>, color: Option<Color>) -> Cell {
        Cell {
            text: text.into(),
            color,
        }
    }
}

/// The narrowest a shrinkable column gets: room for a few characters and the `…`.
const MIN_SHRUNK: usize = 6;
const GAP: &str = "  ";

pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// The table as text, at most `width` columns wide where the shrinkable columns allow.
    pub fn render(&self, width: Option<usize>, color: bool) -> String {
        let widths = self.widths(width);
        let mut out = String::new();
        let header: Vec<Cell> = self.columns.iter().map(|c| Cell::from(c.header)).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, col)) in cells.iter().zip(&self.columns).enumerate() {
                let text = fit(&cell.text, widths[i]);
                let pad = " ".repeat(widths[i] - chars(&text));
                let text = match cell.color.filter(|_| color) {
                    Some(c) => format!("\x1b[{}m{text}\x1b[0m", c.code()),
                    None => text,
                };
                if i > 0 {
                    line.push_str(GAP);
                }
                match col.align {
                    Align::Left => {
                        line.push_str(&text);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(&text);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Each column's width: its widest cell, less what the shrinkable columns must give up
    /// (widest first) for the table to fit `width`.
    fn widths(&self, width: Option<usize>) -> Vec<usize> {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .map(|r| chars(&r[i].text))
                    .chain([chars(c.header)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let Some(limit) = width else {
            return widths;
        };
        let total = |w: &[usize]| w.iter().sum::<usize>() + GAP.len() * w.len().saturating_sub(1);
        while total(&widths) > limit {
            let widest = (0..widths.len())
                .filter(|&i| self.columns[i].shrink)
                .filter(|&i| widths[i] > MIN_SHRUNK.max(chars(self.columns[i].header)))
                .max_by_key(|&i| widths[i]);
            match widest {
                Some(i) => widths[i] -= 1,
                None => break, // as narrow as it goes: wider than the terminal, never broken
            }
        }
        widths
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` shortened to `width` characters, ending in `…` when it was cut.
pub fn fit(s: &str, width: usize) -> String {
    if chars(s) <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Prose wrapped at spaces to `width` (a word longer than the width stays whole): notes
/// under a table never break a date or a number across lines.
pub fn wrap(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && chars(&line) + 1 + chars(word) > width {
            out.push_str(&line);
            out.push('\n');
            line = format!("  {word}");
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out
}

/// Where a table goes: the terminal's width (none when stdout is not a terminal, or the
/// terminal reports 0 columns) and whether colour is wanted (a terminal, and no `NO_COLOR`).
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub width: Option<usize>,
    pub color: bool,
}

impl Screen {
    pub fn detect() -> Screen {
        let stdout = std::io::stdout();
        let tty = stdout.is_terminal();
        let width = tty
            .then(|| terminal_size::terminal_size_of(&stdout))
            .flatten()
            .map(|(w, _)| usize::from(w.0))
            .filter(|w| *w > 0);
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Screen {
            width,
            color: tty && !no_color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(vec![
            Column::shrink("ACCOUNT"),
            Column::right("USED"),
            Column::left("STATUS"),
        ]);
        t.row(vec![
            "a-rather-long-account-name".into(),
            "1,000,000".into(),
            Cell::colored("exhausted", Some(Color::Red)),
        ]);
        t.row(vec!["b".into(), "5".into(), "active".into()]);
        t
    }

    #[test]
    fn without_a_width_nothing_is_shortened() {
        assert_eq!(
            table().render(None, false),
            "ACCOUNT                          USED  STATUS\n\
             a-rather-long-account-name  1,000,000  exhausted\n\
             b                                   5  active\n"
        );
    }

    #[test]
    fn names_shrink_with_an_ellipsis_and_numbers_stay_whole() {
        let out = table().render(Some(30), false);
        assert!(out.lines().all(|l| l.chars().count() <= 30), "{out}");
        assert!(out.contains("a-rathe…  1,000,000  exhausted"), "{out}");
        // Narrower than it can go: wider than asked, but nothing broken.
        let out = table().render(Some(10), false);
        assert!(out.contains("a-rath…  1,000,000  exhausted"), "{out}");
    }

    #[test]
    fn notes_wrap_between_words() {
        let text = "requests not measured (production): reported no requests on 2026-11-20";
        assert_eq!(wrap(text, None), text);
        let out = wrap(text, Some(30));
        assert!(out.lines().all(|l| l.chars().count() <= 30), "{out}");
        assert!(out.contains("2026-11-20"));
    }

    #[test]
    fn colour_does_not_change_the_layout() {
        let plain = table().render(None, false);
        let colored = table().render(None, true);
        assert!(colored.contains("\x1b[31mexhausted\x1b[0m"));
        assert_eq!(
            colored.replace("\x1b[31m", "").replace("\x1b[0m", ""),
            plain
        );
    }
}

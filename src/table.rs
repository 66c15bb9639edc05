//! Tables for people, in the style of `kubectl get`, drawn by comfy-table: columns separated
//! by two spaces, no borders, headers in capitals. A table fits the width it is given: the
//! columns marked `shrink` (messages) are shortened with `…` first; name columns only when
//! that is not enough, and then in their middle; every other cell
//! (numbers, dates, ids, quota types) keeps its content width and is never broken across
//! lines. With no width (not a terminal, or a terminal that reports 0 columns) nothing is
//! shortened. Colour never changes a width.

use std::io::IsTerminal;

use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Row, Width, presets};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub header: &'static str,
    pub align: Align,
    /// May be shortened with `…` at its end to fit the width (messages): first.
    pub shrink: bool,
    /// A name people act on: shortened only when every `shrink` column is as narrow as it
    /// goes, and then in its middle (`production-…-chatbot`), so names that share a
    /// prefix stay apart.
    pub name: bool,
    /// Left out, whole, when that keeps the names whole at the width (in the order the
    /// columns are declared); never when the names must be cut anyway.
    pub optional: bool,
}

impl Column {
    /// A plain column: left-aligned, never shortened.
    const PLAIN: Column = Column {
        header: "",
        align: Align::Left,
        shrink: false,
        name: false,
        optional: false,
    };

    pub(crate) const fn left(header: &'static str) -> Column {
        Column {
            header,
            ..Column::PLAIN
        }
    }

    /// This column, left out when that keeps the names whole (see `Column::optional`).
    pub(crate) const fn optional(self) -> Column {
        Column {
            optional: true,
            ..self
        }
    }

    /// A name column (see `Column::name`).
    pub(crate) const fn name(header: &'static str) -> Column {
        Column {
            header,
            name: true,
            ..Column::PLAIN
        }
    }

    pub(crate) const fn right(header: &'static str) -> Column {
        Column {
            header,
            align: Align::Right,
            ..Column::PLAIN
        }
    }

    pub(crate) const fn shrink(header: &'static str) -> Column {
        Column {
            header,
            shrink: true,
            ..Column::PLAIN
        }
    }
}

/// The terminal's own red and yellow (crossterm writes them as `38;5;1` and `38;5;3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    Yellow,
    Red,
}

#[derive(Debug, Clone)]
pub(crate) struct Cell {
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
    pub(crate) fn colored(text: impl Into<String>, color: Option<Color>) -> Cell {
        Cell {
            text: text.into(),
            color,
        }
    }
}

/// The narrowest a shrinkable column gets: room for a few characters and the `…`.
const MIN_SHRUNK: usize = 6;
/// The space between two columns.
const GAP: u16 = 2;
/// Cells are cut at the column's width, not between words: a name or a message reads
/// from its start up to the `…`. No cell holds this character.
const NO_WORDS: char = '\u{1f}';

pub(crate) struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// Which columns show at `width`, and how wide the names may be there (`None`: whole).
    /// Optional columns are left out, one by one, only when that keeps the names whole.
    fn layout(&self, width: usize) -> (Vec<bool>, Option<usize>) {
        let all = vec![true; self.columns.len()];
        let Some(cut) = self.name_width(width, &all) else {
            return (all, None);
        };
        let mut shown = all.clone();
        for i in (0..self.columns.len()).filter(|i| self.columns[*i].optional) {
            shown[i] = false;
            if self.name_width(width, &shown).is_none() {
                return (shown, None);
            }
        }
        (all, Some(cut))
    }

    /// How wide name columns may be at `width`: `None` when they fit whole once every
    /// shrinkable column is as narrow as it goes.
    fn name_width(&self, width: usize, shown: &[bool]) -> Option<usize> {
        let widest = |i: usize| {
            self.rows
                .iter()
                .map(|r| chars(&r[i].text))
                .chain([chars(self.columns[i].header)])
                .max()
                .unwrap_or(0)
        };
        let visible = shown.iter().filter(|s| **s).count();
        let mut fixed = GAP as usize * visible.saturating_sub(1);
        let mut names = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            if !shown[i] {
                continue;
            }
            if c.name {
                names.push(widest(i));
            } else if c.shrink {
                fixed += widest(i).min(MIN_SHRUNK.max(chars(c.header)));
            } else {
                fixed += widest(i);
            }
        }
        let left = width.saturating_sub(fixed) / names.len().max(1);
        (names.iter().any(|n| *n > left)).then_some(left.max(MIN_SHRUNK))
    }

    /// The table as text, at most `width` columns wide where the shrinkable columns allow;
    /// as narrow as they go, it is wider than `width` rather than break a cell.
    pub(crate) fn render(&self, width: Option<usize>, color: bool) -> String {
        let mut t = comfy_table::Table::new();
        t.load_style(presets::NOTHING)
            .force_no_tty()
            .set_delimiter(NO_WORDS)
            .set_truncation_indicator("…");
        if color {
            t.enforce_styling();
        }
        match width {
            Some(w) => {
                t.set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(u16::try_from(w).unwrap_or(u16::MAX));
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        let (shown, names) = match width {
            Some(w) => self.layout(w),
            None => (vec![true; self.columns.len()], None),
        };
        let columns: Vec<&Column> = self
            .columns
            .iter()
            .zip(&shown)
            .filter_map(|(c, s)| s.then_some(c))
            .collect();
        let header: Vec<comfy_table::Cell> = columns
            .iter()
            .map(|c| comfy_table::Cell::new(c.header))
            .collect();
        t.set_header(one_line(header));
        for cells in &self.rows {
            t.add_row(one_line(
                cells
                    .iter()
                    .zip(&self.columns)
                    .zip(&shown)
                    .filter_map(|(c, s)| s.then_some(c))
                    .map(|(c, col)| match names.filter(|_| col.name) {
                        Some(w) => cell(&Cell::colored(middle_cut(&c.text, w), c.color), color),
                        None => cell(c, color),
                    })
                    .collect(),
            ));
        }
        for (i, (col, c)) in t.column_iter_mut().zip(columns).enumerate() {
            col.set_padding((if i == 0 { 0 } else { GAP }, 0));
            col.set_cell_alignment(match c.align {
                Align::Left => CellAlignment::Left,
                Align::Right => CellAlignment::Right,
            });
            let least = MIN_SHRUNK.max(c.header.chars().count());
            col.set_constraint(if c.shrink {
                ColumnConstraint::LowerBoundary(Width::Fixed(
                    u16::try_from(least).unwrap_or(u16::MAX),
                ))
            } else {
                ColumnConstraint::ContentWidth
            });
        }
        let mut out = String::new();
        for line in t.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn one_line(cells: Vec<comfy_table::Cell>) -> Row {
    let mut row = Row::from(cells);
    row.max_height(1);
    row
}

fn cell(c: &Cell, color: bool) -> comfy_table::Cell {
    let cell = comfy_table::Cell::new(&c.text);
    match c.color.filter(|_| color) {
        Some(Color::Yellow) => cell.fg(comfy_table::Color::DarkYellow),
        Some(Color::Red) => cell.fg(comfy_table::Color::DarkRed),
        None => cell,
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` in at most `width` characters, cut in its middle: `production-…-chatbot`.
fn middle_cut(s: &str, width: usize) -> String {
    let n = chars(s);
    if n <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(1);
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Prose wrapped at spaces to `width` (a word longer than the width stays whole): notes
/// under a table never break a date or a number across lines. A line keeps its indent, and
/// what wraps is indented two more.
pub(crate) fn wrap(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let body = text.trim_start_matches(' ');
    let indent = " ".repeat(text.len() - body.len());
    let mut out = String::new();
    let mut line = indent.clone();
    for (i, word) in body.split(' ').enumerate() {
        if i > 0 && chars(&line) + 1 + chars(word) > width {
            out.push_str(&line);
            out.push('\n');
            line = format!("{indent}  {word}");
        } else {
            if i > 0 {
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
pub(crate) struct Screen {
    pub width: Option<usize>,
    pub color: bool,
}

impl Screen {
    pub(crate) fn detect() -> Screen {
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
        // An indented line stays indented, and wraps two further in.
        let out = wrap(
            "    limits: token_limit 1,000, request_limit 10 (not measured)",
            Some(30),
        );
        assert_eq!(
            out,
            "    limits: token_limit 1,000,\n      request_limit 10 (not\n      measured)"
        );
    }

    #[test]
    fn colour_does_not_change_the_layout() {
        let strip = |s: &str| {
            let mut out = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c == '\x1b' {
                    chars.by_ref().find(|c| *c == 'm');
                } else {
                    out.push(c);
                }
            }
            out
        };
        for width in [None, Some(30)] {
            let plain = table().render(width, false);
            let colored = table().render(width, true);
            assert!(colored.contains("\x1b["), "{colored:?}");
            assert!(!plain.contains('\x1b'));
            assert_eq!(strip(&colored), plain);
        }
    }

    /// Messages give way first, then optional columns; a name is cut only when that is not
    /// enough, and then in its middle, so names that share a prefix stay apart.
    #[test]
    fn names_are_cut_last_and_in_their_middle() {
        assert_eq!(middle_cut("production-eu-chatbot", 12), "produc…atbot");
        assert_eq!(middle_cut("short", 12), "short");
        let mut t = Table::new(vec![
            Column::name("ACCOUNT"),
            Column::right("USED"),
            Column::left("CREATED").optional(),
            Column::shrink("MESSAGE"),
        ]);
        t.row(vec![
            "production-eu-west-chatbot".into(),
            "1,000,000".into(),
            "11-20 12:00".into(),
            "a long message that says what happened in detail".into(),
        ]);
        let out = t.render(Some(60), false);
        assert!(
            out.contains("production-eu-west-chatbot  1,000,000  11-20 12:00  a long"),
            "{out}"
        );
        // Narrower: CREATED goes, the name stays whole.
        let out = t.render(Some(48), false);
        assert!(
            !out.contains("CREATED") && out.contains("production-eu-west-chatbot"),
            "{out}"
        );
        // Narrower still: every column back, the name cut in its middle.
        let out = t.render(Some(40), false);
        assert!(out.contains("CREATED") && out.contains("pro…bot"), "{out}");
    }
}

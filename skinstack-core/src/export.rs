//! Files a person opens in a spreadsheet (payout CSVs, and any other export): what goes in a
//! cell.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula (or, for tab and carriage
/// return, let one through after them): OWASP's CSV-injection list.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` made safe to open in a spreadsheet: one that starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return gets a single quote in front, so it is shown as text and never run as
/// a formula (OWASP CSV injection); any other cell is returned as it is. Every CSV writer of
/// the platform passes every cell through here.
pub fn spreadsheet_cell(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_quoted_and_others_are_untouched() {
        for risky in [
            "=HYPERLINK(\"http://x\",\"claim\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(spreadsheet_cell(risky), format!("'{risky}"));
        }
        for plain in ["Ana Glow", "", "12.50", "a=b", " =1", "'quoted"] {
            assert!(matches!(spreadsheet_cell(plain), Cow::Borrowed(p) if p == plain));
        }
    }
}

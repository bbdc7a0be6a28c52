//! Norwegian public holidays (helligdager and the two official flag days that are days off):
//! New Year's Day, Maundy Thursday, Good Friday, Easter Sunday and Monday, 1 May, 17 May,
//! Ascension Day, Whit Sunday and Monday, Christmas Day and Boxing Day.

use chrono::{Datelike, NaiveDate};

/// Easter Sunday of `year` (Gregorian; the anonymous "Meeus/Jones/Butcher" algorithm).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// Whether `date` is a Norwegian public holiday.
pub fn is_public_holiday(date: NaiveDate) -> bool {
    if matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (5, 17) | (12, 25) | (12, 26)
    ) {
        return true;
    }
    // The Easter-based holidays fall between 19 March and 14 June; most days of the year
    // need no Easter computed.
    if !(3..=6).contains(&date.month()) {
        return false;
    }
    let Some(easter) = easter_sunday(date.year()) else {
        return false;
    };
    // Maundy Thursday, Good Friday, Easter Sunday and Monday, Ascension, Whit Sunday and Monday.
    let days_after_easter = date.ordinal() as i32 - easter.ordinal() as i32;
    matches!(days_after_easter, -3 | -2 | 0 | 1 | 39 | 49 | 50)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_falls_where_the_almanac_says() {
        assert_eq!(easter_sunday(2024), Some(date("2024-03-31")));
        assert_eq!(easter_sunday(2025), Some(date("2025-04-20")));
        assert_eq!(easter_sunday(2026), Some(date("2026-04-05")));
        assert_eq!(easter_sunday(2027), Some(date("2027-03-28")));
        assert_eq!(easter_sunday(2038), Some(date("2038-04-25")));
    }

    #[test]
    fn the_holidays_of_2026() {
        for holiday in [
            "2026-01-01",
            "2026-04-02",
            "2026-04-03",
            "2026-04-05",
            "2026-04-06",
            "2026-05-01",
            "2026-05-14",
            "2026-05-17",
            "2026-05-24",
            "2026-05-25",
            "2026-12-25",
            "2026-12-26",
        ] {
            assert!(is_public_holiday(date(holiday)), "{holiday}");
        }
        for ordinary in [
            "2026-04-04",
            "2026-12-24",
            "2026-12-31",
            "2026-05-16",
            "2026-11-23",
        ] {
            assert!(!is_public_holiday(date(ordinary)), "{ordinary}");
        }
    }

    #[test]
    fn every_day_of_three_centuries_agrees_with_easter_arithmetic() {
        use chrono::Days;
        for year in 1900..2200 {
            let easter = easter_sunday(year).unwrap();
            let mut expected: Vec<NaiveDate> = [(1, 1), (5, 1), (5, 17), (12, 25), (12, 26)]
                .into_iter()
                .map(|(m, d)| NaiveDate::from_ymd_opt(year, m, d).unwrap())
                .collect();
            expected.extend([easter - Days::new(3), easter - Days::new(2), easter]);
            expected.extend([1, 39, 49, 50].map(|n| easter + Days::new(n)));
            let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            for day in first.iter_days().take_while(|d| d.year() == year) {
                assert_eq!(is_public_holiday(day), expected.contains(&day), "{day}");
            }
        }
    }
}

//! The shop's catalogue: stock codes, upper-case descriptions in the real
//! data's manner, prices and pack sizes, and each item's popularity, which
//! is Zipf-like, drifts, follows its season, and starts and ends with the
//! item's time on sale.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::synthetic::calendar::Season;
use crate::synthetic::rng::{Alias, Rng};

/// General motifs: each is a theme whose items customers buy together.
const MOTIFS: &[&str] = &[
    "RETROSPOT",
    "POLKADOT",
    "SPACEBOY",
    "DOLLY GIRL",
    "VINTAGE PAISLEY",
    "REGENCY",
    "PANTRY",
    "PARIS FASHION",
    "SKULL",
    "WOODLAND",
    "ENGLISH ROSE",
    "UNION JACK",
    "STRAWBERRY",
    "APPLES",
    "BIRD",
    "BUTTERFLY",
    "HEART",
    "LOVE",
    "JAM MAKING",
    "BAROQUE",
    "ALPHABET",
    "SPOTTY",
    "CHERRY",
    "DAISY",
    "OWL",
    "RABBIT",
    "CIRCUS PARADE",
    "TEA PARTY",
    "BAKELIKE",
    "ROSES",
    "LEAF",
    "STAR",
    "MOROCCAN",
    "ANTIQUE",
    "FLORAL",
    "GINGHAM",
    "PEACE",
    "HOMEMADE",
    "DOILY",
    "SCANDINAVIAN",
    "50'S",
    "RED TOADSTOOL",
    "PINK PAISLEY",
    "JUNGLE",
    "CAT",
    "DOG",
    "HEN HOUSE",
    "LONDON",
    "FAIRY CAKE",
    "ROCOCO",
    "WILD FLOWER",
    "FRENCH",
    "NORDIC",
    "CHARLIE+LOLA",
];

/// Motifs of Christmas items.
const CHRISTMAS_MOTIFS: &[&str] = &[
    "CHRISTMAS",
    "VINTAGE CHRISTMAS",
    "SCANDINAVIAN CHRISTMAS",
    "50'S CHRISTMAS",
    "CHRISTMAS GINGHAM",
    "CHRISTMAS STAR",
    "NORDIC CHRISTMAS",
    "CHRISTMAS TREE",
];

/// Everyday products.
const PRODUCTS: &[&str] = &[
    "T-LIGHT HOLDER",
    "HANGING HEART T-LIGHT HOLDER",
    "LANTERN",
    "COAT HANGER",
    "NESTING BOXES",
    "LUNCH BAG",
    "JUMBO BAG",
    "JUMBO SHOPPER",
    "CAKE CASES",
    "CAKE TIN",
    "CAKE STAND",
    "TEA TOWEL",
    "MUG",
    "CUP AND SAUCER",
    "TEACUP AND SAUCER",
    "PLATE",
    "BOWL",
    "PAPER NAPKINS",
    "PAPER CUPS",
    "PAPER PLATES",
    "PARTY BUNTING",
    "DOORMAT",
    "CUSHION COVER",
    "PHOTO FRAME",
    "CANDLE",
    "STORAGE JAR",
    "ALARM CLOCK",
    "WALL CLOCK",
    "CHOPPING BOARD",
    "APRON",
    "OVEN GLOVE",
    "PLASTERS IN TIN",
    "WATER BOTTLE",
    "PURSE",
    "NOTEBOOK",
    "PENCILS",
    "STICKERS",
    "GIFT WRAP",
    "GIFT BAG",
    "WRAPPING PAPER",
    "GREETING CARD",
    "DRAWER KNOB",
    "KEY RING",
    "HAIR CLIP",
    "BRACELET",
    "NECKLACE",
    "METAL SIGN",
    "WOODEN SIGN",
    "DOORSTOP",
    "SNACK BOX",
    "LUNCH BOX",
    "MILK JUG",
    "TRAY",
    "COASTERS",
    "PLACEMATS",
    "TISSUES",
    "SOAP DISH",
    "TOWEL",
    "RAG DOLL",
    "JIGSAW",
    "BUILDING BLOCKS",
    "CHALKBOARD",
    "FRIDGE MAGNET",
    "BOOKMARK",
    "PICTURE FRAME",
    "MIRROR",
    "BAKING SET",
    "CAKE CASES PACK",
    "RECIPE BOX",
    "EGG CUP",
    "TEAPOT",
    "SUGAR BOWL",
    "SPOONS",
    "DRAWER LINER",
    "SHOPPING BAG",
    "TOTE BAG",
    "PASSPORT COVER",
    "CHILDRENS APRON",
    "PENCIL CASE",
    "ERASER",
    "RULER",
    "MEMO BOARD",
    "HOOK",
    "WALL ART",
    "CLOCK",
    "BEAKER",
    "MINI CASES",
    "CARD HOLDER",
    "JEWELLERY BOX",
    "TRINKET POT",
    "ORGANISER",
    "BASKET",
    "BIRTHDAY CARD",
    "RECORD FRAME 7\" SINGLE SIZE",
];

/// Products of the summer season.
const SUMMER_PRODUCTS: &[&str] = &[
    "PICNIC BASKET",
    "PICNIC BLANKET",
    "PARASOL",
    "SUN HAT",
    "WATERING CAN",
    "BIRD FEEDER",
    "FLOWER POT",
    "GARDEN MARKERS",
    "BEACH BAG",
    "GARDEN KNEELER",
    "PLANT POT",
    "GARDEN PARASOL",
    "OUTDOOR LANTERN",
    "HAMMOCK",
    "GARDEN SIGN",
];

/// Products of the winter season.
const WINTER_PRODUCTS: &[&str] = &[
    "HAND WARMER",
    "HOT WATER BOTTLE",
    "KNITTED MUG COSY",
    "KNITTED TEA COSY",
    "SCARF",
    "SLIPPERS",
    "FLEECE BLANKET",
    "EGG COSY",
];

/// Products of Christmas.
const CHRISTMAS_PRODUCTS: &[&str] = &[
    "BAUBLE",
    "TREE DECORATION",
    "HANGING ANGEL",
    "ADVENT CALENDAR",
    "PAPER CHAIN KIT",
    "CRACKERS",
    "STOCKING",
    "GINGERBREAD MAN",
    "REINDEER",
    "SANTA",
    "STAR GARLAND",
    "WREATH",
    "CARDS",
    "GIFT TAGS",
    "TABLE DECORATION",
    "SNOWFLAKE",
    "T-LIGHT HOLDER",
    "BUNTING",
    "CANDLE",
    "TREE TOPPER",
    "WRAPPING PAPER",
    "GIFT BOX",
    "NAPKINS",
    "PUDDING",
    "ROBIN",
];

const COLOURS: &[&str] = &[
    "RED",
    "PINK",
    "BLUE",
    "GREEN",
    "WHITE",
    "IVORY",
    "CREAM",
    "BLACK",
    "YELLOW",
    "ORANGE",
    "PURPLE",
    "SILVER",
    "GOLD",
    "TURQUOISE",
    "LILAC",
    "NATURAL",
    "GREY",
    "BROWN",
];

const PREFIXES: &[(&str, f64)] = &[
    ("", 0.55),
    ("SET OF 3 ", 0.07),
    ("SET OF 4 ", 0.04),
    ("SET OF 6 ", 0.04),
    ("SET/10 ", 0.02),
    ("PACK OF 12 ", 0.03),
    ("PACK OF 72 ", 0.02),
    ("SMALL ", 0.06),
    ("LARGE ", 0.06),
    ("JUMBO ", 0.02),
    ("MINI ", 0.03),
    ("SET 2 ", 0.03),
    ("ASSORTED ", 0.03),
];

/// Usual units per line for an item (lines come in multiples for shops).
const PACKS: &[(u16, f64)] = &[
    (1, 0.35),
    (2, 0.06),
    (3, 0.05),
    (4, 0.08),
    (6, 0.15),
    (8, 0.04),
    (10, 0.05),
    (12, 0.13),
    (24, 0.04),
    (25, 0.01),
    (48, 0.02),
];

/// One product on sale.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Five digits and an optional letter for the colour variant.
    pub(crate) code: Box<str>,
    /// The description as a CSV field (quoted where RFC 4180 needs it).
    pub(crate) description: Box<[u8]>,
    /// List price in thousandths of a pound.
    pub(crate) price: u32,
    /// Usual units per line.
    pub(crate) pack: u16,
    /// The item's theme (its motif).
    pub(crate) theme: u16,
    pub(crate) season: Season,
    /// Zipf weight of the item's popularity rank.
    base: f64,
    /// Growth or decline per year, on a log scale.
    trend: f64,
    /// First and last day (indices into the period) on sale.
    launch: i64,
    end: i64,
}

/// Writes `text` as a CSV field: quoted, with quotes doubled, only when it
/// holds a comma, quote or line break.
pub(crate) fn csv_field(text: &str) -> Box<[u8]> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
            .into_bytes()
            .into()
    } else {
        text.as_bytes().into()
    }
}

/// Rounds a price in thousandths of a pound as shops price things: whole
/// pence below a pound, 5p steps above (some ending in 9).
fn shop_price(mills: f64, rng: &mut Rng) -> u32 {
    let mills = mills.clamp(100.0, 60_000.0);
    if mills < 1000.0 {
        ((mills / 10.0).round() * 10.0) as u32
    } else if rng.chance(0.15) {
        ((mills / 100.0).round() * 100.0 - 10.0) as u32
    } else {
        ((mills / 50.0).round() * 50.0) as u32
    }
}

/// The catalogue and each day's popularity.
#[derive(Debug)]
pub(crate) struct Catalogue {
    pub(crate) items: Vec<Item>,
    /// Items of each theme.
    themes: Vec<Vec<u32>>,
    /// Today's chance, at most 1, that an item a customer usually buys is
    /// on sale and in season.
    pub(crate) availability: Vec<f32>,
    weights: Vec<f64>,
    /// Today's weights as they would be out of season.
    unseasoned: Vec<f64>,
    /// Today's share of each theme's items that is in season, at most 1.
    theme_season: Vec<f64>,
    theme_weights: Vec<f64>,
    global: Alias,
    by_theme: Vec<Alias>,
}

impl Catalogue {
    /// `n` items for a period of `days` days.
    pub(crate) fn new(n: usize, days: u32, rng: &mut Rng) -> Self {
        let days = i64::from(days);
        let theme_count = MOTIFS.len() + CHRISTMAS_MOTIFS.len();
        let mut items: Vec<Item> = Vec::with_capacity(n);
        let mut descriptions: HashSet<String> = HashSet::with_capacity(n);
        let mut codes: HashSet<u32> = HashSet::new();
        while items.len() < n {
            let season = rng.pick(&[
                (Season::None, 0.87),
                (Season::Christmas, 0.06),
                (Season::Summer, 0.04),
                (Season::Winter, 0.03),
            ]);
            let (products, theme) = match season {
                Season::Christmas => {
                    let m = rng.below(CHRISTMAS_MOTIFS.len() as u64) as usize;
                    (CHRISTMAS_PRODUCTS, MOTIFS.len() + m)
                }
                Season::Summer => (SUMMER_PRODUCTS, rng.below(MOTIFS.len() as u64) as usize),
                Season::Winter => (WINTER_PRODUCTS, rng.below(MOTIFS.len() as u64) as usize),
                Season::None => (PRODUCTS, rng.below(MOTIFS.len() as u64) as usize),
            };
            let motif = if theme < MOTIFS.len() {
                MOTIFS[theme]
            } else {
                CHRISTMAS_MOTIFS[theme - MOTIFS.len()]
            };
            let product = products[rng.below(products.len() as u64) as usize];
            let prefix = rng.pick(PREFIXES);
            let form = rng.pick(&[(0u8, 0.63), (1, 0.28), (2, 0.008), (3, 0.08)]);
            let variants = if rng.chance(0.72) {
                1
            } else {
                rng.between(2, 6) as usize
            }
            .min(n - items.len());
            let mut colours: Vec<&str> = Vec::new();
            while colours.len() < variants {
                let colour = COLOURS[rng.below(COLOURS.len() as u64) as usize];
                if !colours.contains(&colour) {
                    colours.push(colour);
                }
            }
            let coloured = variants > 1 || rng.chance(0.4);
            let trailing = if rng.chance(0.04) { " " } else { "" };
            let family: Vec<String> = colours
                .iter()
                .map(|colour| {
                    let colour = if coloured {
                        format!("{colour} ")
                    } else {
                        String::new()
                    };
                    match form {
                        0 => format!("{prefix}{colour}{motif} {product}{trailing}"),
                        1 => format!("{prefix}{product} {colour}{motif}{trailing}"),
                        2 => format!("{product}, {colour}{motif}{trailing}"),
                        _ => format!("{colour}{motif} {product} DESIGN{trailing}"),
                    }
                })
                .collect();
            if family.iter().any(|d| descriptions.contains(d)) {
                continue;
            }
            let base_code = loop {
                let code = rng.between(10_000, 99_999) as u32;
                if codes.insert(code) {
                    break code;
                }
            };
            let mut pack = rng.pick(PACKS);
            let list = rng.lognormal(3400.0, 0.75) / f64::from(pack).powf(0.35);
            if list < 800.0 && pack < 10 && rng.chance(0.6) {
                pack = rng.pick(&[(12, 0.5), (24, 0.25), (10, 0.15), (48, 0.1)]);
            }
            let price = shop_price(list, rng);
            let suffixed = variants > 1 || rng.chance(0.1);
            for (i, description) in family.into_iter().enumerate() {
                let code = if suffixed {
                    format!("{base_code}{}", char::from(b'A' + i as u8))
                } else {
                    base_code.to_string()
                };
                let launch = if rng.chance(0.12) {
                    rng.below(days as u64) as i64
                } else {
                    i64::MIN
                };
                let end = if rng.chance(0.08) {
                    rng.below(days as u64) as i64
                } else {
                    i64::MAX
                };
                items.push(Item {
                    code: code.into(),
                    description: csv_field(&description),
                    price,
                    pack,
                    theme: theme as u16,
                    season,
                    base: 0.0,
                    trend: 0.7 * rng.normal(),
                    launch,
                    end: end.max(launch.saturating_add(60)),
                });
                descriptions.insert(description);
            }
        }
        // Popularity: a random rank for every item, Zipf-like weights.
        let mut ranks: Vec<usize> = (0..items.len()).collect();
        for i in (1..ranks.len()).rev() {
            ranks.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for (item, rank) in items.iter_mut().zip(ranks) {
            item.base = 1.0 / (rank as f64 + 20.0).powf(0.8);
        }
        let mut themes = vec![Vec::new(); theme_count];
        for (i, item) in items.iter().enumerate() {
            themes[item.theme as usize].push(i as u32);
        }
        Self {
            availability: vec![0.0; items.len()],
            weights: vec![0.0; items.len()],
            unseasoned: vec![0.0; items.len()],
            theme_season: vec![1.0; theme_count],
            theme_weights: Vec::new(),
            global: Alias::default(),
            by_theme: vec![Alias::default(); theme_count],
            themes,
            items,
        }
    }

    /// Number of themes.
    pub(crate) fn theme_count(&self) -> usize {
        self.themes.len()
    }

    /// Sets popularity and availability for day `day` (an index into a
    /// period of `days` days) falling on `date`.
    pub(crate) fn prepare(&mut self, day: u32, days: u32, date: NaiveDate, seasonality: f64) {
        let day = i64::from(day);
        let years = (day as f64 - f64::from(days) / 2.0) / 365.0;
        let seasons = [
            Season::None,
            Season::Christmas,
            Season::Summer,
            Season::Winter,
        ]
        .map(|s| s.factor(date, seasonality));
        let season_of = |s: Season| match s {
            Season::None => seasons[0],
            Season::Christmas => seasons[1],
            Season::Summer => seasons[2],
            Season::Winter => seasons[3],
        };
        for (i, item) in self.items.iter().enumerate() {
            let (weight, unseasoned, available) = if day < item.launch || day > item.end {
                (0.0, 0.0, 0.0)
            } else {
                let season = season_of(item.season);
                // New lines sell well for their first weeks.
                let novelty = if item.launch > i64::MIN {
                    1.0 + 2.0 * (-((day - item.launch) as f64) / 45.0).exp()
                } else {
                    1.0
                };
                let unseasoned = item.base * (item.trend * years).exp() * novelty;
                (unseasoned * season, unseasoned, season.min(1.0) as f32)
            };
            self.weights[i] = weight;
            self.unseasoned[i] = unseasoned;
            self.availability[i] = available;
        }
        self.global.rebuild(&self.weights);
        for ((alias, members), season) in self
            .by_theme
            .iter_mut()
            .zip(&self.themes)
            .zip(&mut self.theme_season)
        {
            self.theme_weights.clear();
            self.theme_weights
                .extend(members.iter().map(|&i| self.weights[i as usize]));
            alias.rebuild(&self.theme_weights);
            let now: f64 = self.theme_weights.iter().sum();
            let usual: f64 = members.iter().map(|&i| self.unseasoned[i as usize]).sum();
            *season = if usual > 0.0 {
                (now / usual).min(1.0)
            } else {
                0.0
            };
        }
    }

    /// An item drawn by today's popularity.
    #[inline]
    pub(crate) fn popular(&self, rng: &mut Rng) -> Option<u32> {
        self.global.sample(rng).map(|i| i as u32)
    }

    /// An item of `theme` drawn by today's popularity; out of the theme's
    /// season (Christmas in spring), often any popular item instead.
    #[inline]
    pub(crate) fn of_theme(&self, theme: u16, rng: &mut Rng) -> Option<u32> {
        let theme = theme as usize;
        if !rng.chance(*self.theme_season.get(theme)?) {
            return self.popular(rng);
        }
        self.by_theme
            .get(theme)?
            .sample(rng)
            .map(|i| self.themes[theme][i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::rng::Stream;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(&*csv_field("WHITE METAL LANTERN"), b"WHITE METAL LANTERN");
        assert_eq!(
            &*csv_field("TRAY, BREAKFAST IN BED"),
            b"\"TRAY, BREAKFAST IN BED\""
        );
        assert_eq!(
            &*csv_field("RECORD FRAME 7\" SINGLE SIZE"),
            b"\"RECORD FRAME 7\"\" SINGLE SIZE\""
        );
    }

    #[test]
    fn prices_look_like_shop_prices() {
        let mut rng = Rng::new(1, Stream::Catalogue);
        for _ in 0..1000 {
            let price = shop_price(rng.lognormal(2000.0, 1.0), &mut rng);
            assert!(price >= 100 && price.is_multiple_of(10), "{price}");
            if price >= 1000 {
                assert!(price.is_multiple_of(50) || price % 100 == 90, "{price}");
            }
        }
    }

    #[test]
    fn a_catalogue_has_unique_codes_and_descriptions() {
        let mut rng = Rng::new(3, Stream::Catalogue);
        let mut catalogue = Catalogue::new(5000, 374, &mut rng);
        assert_eq!(catalogue.items.len(), 5000);
        let codes: HashSet<&str> = catalogue.items.iter().map(|i| &*i.code).collect();
        let descriptions: HashSet<&[u8]> =
            catalogue.items.iter().map(|i| &*i.description).collect();
        assert_eq!(codes.len(), 5000);
        assert_eq!(descriptions.len(), 5000);
        for item in &catalogue.items {
            let code = item.code.as_bytes();
            assert!(code[..5].iter().all(u8::is_ascii_digit), "{}", item.code);
            assert!(code.len() == 5 || (code.len() == 6 && code[5].is_ascii_uppercase()));
        }
        let christmas = |c: &Catalogue| -> f64 {
            c.items
                .iter()
                .zip(&c.weights)
                .filter(|(i, _)| i.season == Season::Christmas)
                .map(|(_, w)| w)
                .sum::<f64>()
                / c.weights.iter().sum::<f64>()
        };
        let date = |m, d| NaiveDate::from_ymd_opt(2011, m, d).unwrap();
        catalogue.prepare(130, 374, date(4, 10), 1.0);
        let april = christmas(&catalogue);
        catalogue.prepare(350, 374, date(11, 15), 1.0);
        let november = christmas(&catalogue);
        assert!(april < 0.01 && november > 0.1, "{april} {november}");
        let mut rng = Rng::new(4, Stream::Days);
        let item = catalogue.of_theme(0, &mut rng).unwrap();
        assert_eq!(catalogue.items[item as usize].theme, 0);
    }
}

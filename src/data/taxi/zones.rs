//! The 265 TLC taxi zones: borough and a position on a plane (miles), for the generator.
//!
//! Positions are synthetic — laid out borough by borough around Manhattan — not the TLC
//! shapefile; the zone ids, borough sizes and the airports (1 EWR, 132 JFK, 138 LaGuardia)
//! follow `taxi_zone_lookup.csv`.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Number of zones in the TLC lookup table.
pub const ZONE_COUNT: usize = 265;
/// Newark airport.
pub const EWR: usize = 1;
/// JFK airport.
pub const JFK: usize = 132;
/// LaGuardia airport.
pub const LAGUARDIA: usize = 138;

/// The boroughs of the zone lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Borough {
    /// Newark airport, New Jersey.
    Ewr,
    /// Manhattan.
    Manhattan,
    /// Brooklyn.
    Brooklyn,
    /// Queens.
    Queens,
    /// The Bronx.
    Bronx,
    /// Staten Island.
    StatenIsland,
    /// Zones 264/265: unknown or outside NYC.
    Unknown,
}

/// One taxi zone.
#[derive(Debug, Clone, Copy)]
pub struct Zone {
    /// TLC LocationID (1–265).
    pub id: usize,
    /// Borough.
    pub borough: Borough,
    /// East–west position in miles (Manhattan's centre at 0).
    pub x: f64,
    /// North–south position in miles.
    pub y: f64,
}

impl Zone {
    /// Whether the zone is an airport.
    pub fn is_airport(&self) -> bool {
        matches!(self.id, EWR | JFK | LAGUARDIA)
    }

    /// Straight-line distance to another zone in miles.
    pub fn distance(&self, other: &Zone) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// A borough's zone count and the x and y ranges its zones are scattered over.
type BoroughBox = (Borough, usize, (f64, f64), (f64, f64));

/// (borough, zone count, x range, y range): 1 + 69 + 61 + 69 + 43 + 20 + 2 = 265.
const LAYOUT: &[BoroughBox] = &[
    (Borough::Manhattan, 69, (-1.5, 1.5), (-6.0, 8.0)),
    (Borough::Brooklyn, 61, (0.0, 8.0), (-10.0, -2.0)),
    (Borough::Queens, 69, (3.0, 14.0), (-6.0, 4.0)),
    (Borough::Bronx, 43, (0.0, 8.0), (8.0, 16.0)),
    (Borough::StatenIsland, 20, (-12.0, -4.0), (-16.0, -8.0)),
];

/// The 265 zones, indexed by `id - 1`; identical for every seed and month.
pub fn zones() -> Vec<Zone> {
    let mut rng = Pcg64Mcg::seed_from_u64(0x7a_0e5);
    let mut boroughs: Vec<Borough> = LAYOUT.iter().flat_map(|&(b, n, ..)| vec![b; n]).collect();
    // Shuffle borough labels over ids 2..=263 so ids do not encode boroughs in blocks...
    for i in (1..boroughs.len()).rev() {
        boroughs.swap(i, rng.random_range(0..=i));
    }
    // ...then pin the airports the lookup table names.
    let pin = |boroughs: &mut Vec<Borough>, id: usize, b: Borough| {
        let slot = id - 2;
        if boroughs[slot] != b {
            let other = boroughs.iter().position(|&x| x == b).unwrap_or(slot);
            boroughs.swap(slot, other);
        }
    };
    pin(&mut boroughs, JFK, Borough::Queens);
    pin(&mut boroughs, LAGUARDIA, Borough::Queens);
    let mut out = Vec::with_capacity(ZONE_COUNT);
    out.push(Zone {
        id: EWR,
        borough: Borough::Ewr,
        x: -14.0,
        y: -2.0,
    });
    for (i, &borough) in boroughs.iter().enumerate() {
        let &(_, _, (x0, x1), (y0, y1)) = LAYOUT.iter().find(|l| l.0 == borough).expect("layout");
        let (x, y) = match i + 2 {
            JFK => (10.0, -8.0),
            LAGUARDIA => (6.0, 2.0),
            _ => (rng.random_range(x0..x1), rng.random_range(y0..y1)),
        };
        out.push(Zone {
            id: i + 2,
            borough,
            x,
            y,
        });
    }
    for id in [264, 265] {
        out.push(Zone {
            id,
            borough: Borough::Unknown,
            x: 0.0,
            y: 0.0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_table_shape_holds() {
        let z = zones();
        assert_eq!(z.len(), ZONE_COUNT);
        assert!(z.iter().enumerate().all(|(i, zone)| zone.id == i + 1));
        let count = |b| z.iter().filter(|zone| zone.borough == b).count();
        assert_eq!(count(Borough::Manhattan), 69);
        assert_eq!(count(Borough::Queens), 69);
        assert_eq!(z[JFK - 1].borough, Borough::Queens);
        assert!(z[JFK - 1].is_airport() && z[EWR - 1].is_airport());
    }
}

//! Reproducible random draw of stations and inspectors 双随机 (R17.3).
//!
//! Algorithm `chacha20-v1` (bump [`DRAW_ALGORITHM_VERSION`] on any change):
//!
//! 1. Sort both pools by id, so the order the caller passes does not
//!    matter. Duplicate ids are an error.
//! 2. `rng = ChaCha20Rng::seed_from_u64(seed)` (rand_chacha 0.9).
//! 3. Draw `station_count` stations by partial Fisher–Yates over the sorted
//!    station pool: for `i` in `0..k`, `j = i + below(n − i)`, swap `i` and
//!    `j`; the drawn stations are positions `0..k`, in that order.
//! 4. For each drawn station in order, take the sorted inspectors whose
//!    organization differs from the station's (never an inspector of the
//!    station's own organization) and draw `inspectors_per_station` of them
//!    by the same partial Fisher–Yates, continuing the same `rng`.
//!    Inspectors may serve several stations.
//! 5. `below(n)` is an unbiased bounded integer by rejection: let
//!    `r = 2^64 mod n`; draw `x = rng.next_u64()` until `x ≤ u64::MAX − r`,
//!    then return `x mod n`.
//!
//! If a pool is too small the draw takes what there is and says so.

use std::fmt;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;

use super::{Lang, Message};

/// R17.3: identifies the algorithm; recorded with every draw.
pub const DRAW_ALGORITHM_VERSION: &str = "chacha20-v1";

/// A station or an inspector in a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate<Id, Org> {
    /// The candidate's id.
    pub id: Id,
    /// The organization it belongs to (for inspectors, their employer).
    pub org: Org,
}

/// One drawn station and its inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment<Id> {
    /// The station.
    pub station: Id,
    /// Its inspectors, in draw order.
    pub inspectors: Vec<Id>,
}

/// Something to note about a draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DrawNote {
    /// Fewer stations in the pool than requested.
    NotEnoughStations {
        /// Requested.
        requested: usize,
        /// In the pool.
        available: usize,
    },
    /// Fewer eligible inspectors than requested for a station.
    NotEnoughInspectors {
        /// The station.
        station: String,
        /// Requested.
        requested: usize,
        /// Eligible (not of the station's organization).
        eligible: usize,
    },
}

impl Message for DrawNote {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::NotEnoughStations { requested, available }) => {
                format!("拟抽取 {requested} 个专业计量站，库中仅有 {available} 个")
            }
            (Lang::En, Self::NotEnoughStations { requested, available }) => {
                format!("{requested} stations requested, only {available} in the pool")
            }
            (Lang::Zh, Self::NotEnoughInspectors {
                station,
                requested,
                eligible,
            }) => format!(
                "{station}：需 {requested} 名检查人员，回避本单位人员后仅有 {eligible} 名"
            ),
            (Lang::En, Self::NotEnoughInspectors {
                station,
                requested,
                eligible,
            }) => format!(
                "{station}: {requested} inspectors requested, only {eligible} eligible outside its organization"
            ),
        }
    }
}

/// A draw the rules refuse to make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DrawError {
    /// An id appears twice in a pool.
    #[error("id {id} appears twice in the {pool} pool")]
    DuplicateId {
        /// `station` or `inspector`.
        pool: &'static str,
        /// The id.
        id: String,
    },
}

impl Message for DrawError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::DuplicateId { pool, id }) => {
                let pool = if *pool == "station" {
                    "专业计量站"
                } else {
                    "检查人员"
                };
                format!("{pool}库中 {id} 重复")
            }
        }
    }
}

/// R17.3: the result, with what is needed to re-run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrawResult<Id> {
    /// [`DRAW_ALGORITHM_VERSION`].
    pub algorithm: &'static str,
    /// The seed used.
    pub seed: u64,
    /// Drawn stations with their inspectors, in draw order.
    pub assignments: Vec<Assignment<Id>>,
    /// Shortfalls.
    pub notes: Vec<DrawNote>,
}

/// Unbiased integer in `0..n` (`n > 0`) by rejection sampling; see the
/// module doc.
fn below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    let reject_from = u64::MAX - (u64::MAX % n + 1) % n;
    loop {
        let x = rng.next_u64();
        if x <= reject_from {
            return x % n;
        }
    }
}

/// Partial Fisher–Yates: moves `k` uniformly drawn elements to the front,
/// in draw order, and returns them.
fn choose<T: Clone>(rng: &mut ChaCha20Rng, items: &mut [T], k: usize) -> Vec<T> {
    let k = k.min(items.len());
    for i in 0..k {
        let j = i + below(rng, (items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
    items[..k].to_vec()
}

fn sorted<Id: Ord + Clone + fmt::Display, Org: Clone>(
    pool: &[Candidate<Id, Org>],
    name: &'static str,
) -> Result<Vec<Candidate<Id, Org>>, DrawError> {
    let mut sorted = pool.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(DrawError::DuplicateId {
            pool: name,
            id: pair[0].id.to_string(),
        });
    }
    Ok(sorted)
}

/// R17.3: draws `station_count` stations and, for each, up to
/// `inspectors_per_station` inspectors not of the station's organization,
/// reproducibly from `seed` (algorithm in the module doc).
pub fn draw<Id, Org>(
    stations: &[Candidate<Id, Org>],
    inspectors: &[Candidate<Id, Org>],
    seed: u64,
    station_count: usize,
    inspectors_per_station: usize,
) -> Result<DrawResult<Id>, DrawError>
where
    Id: Ord + Clone + fmt::Display,
    Org: PartialEq + Clone,
{
    let mut stations = sorted(stations, "station")?;
    let inspectors = sorted(inspectors, "inspector")?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut notes = Vec::new();
    if stations.len() < station_count {
        notes.push(DrawNote::NotEnoughStations {
            requested: station_count,
            available: stations.len(),
        });
    }
    let drawn = choose(&mut rng, &mut stations, station_count);
    let mut assignments = Vec::with_capacity(drawn.len());
    for station in drawn {
        let mut eligible: Vec<&Candidate<Id, Org>> =
            inspectors.iter().filter(|i| i.org != station.org).collect();
        if eligible.len() < inspectors_per_station {
            notes.push(DrawNote::NotEnoughInspectors {
                station: station.id.to_string(),
                requested: inspectors_per_station,
                eligible: eligible.len(),
            });
        }
        let chosen = choose(&mut rng, &mut eligible, inspectors_per_station);
        assignments.push(Assignment {
            station: station.id,
            inspectors: chosen.into_iter().map(|i| i.id.clone()).collect(),
        });
    }
    Ok(DrawResult {
        algorithm: DRAW_ALGORITHM_VERSION,
        seed,
        assignments,
        notes,
    })
}

/// R16.5, R17.3: a reproducible random sample of `k` of a station's work
/// records for audit: the pool sorted by id (duplicates removed), then the
/// same ChaCha20 partial Fisher–Yates as [`draw`], seeded by `seed`. The
/// chosen ids come back in the order drawn.
pub fn sample<Id: Ord + Clone>(pool: &[Id], seed: u64, k: usize) -> Vec<Id> {
    let mut sorted = pool.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    choose(&mut rng, &mut sorted, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(prefix: &str, n: usize, orgs: usize) -> Vec<Candidate<String, usize>> {
        (0..n)
            .map(|i| Candidate {
                id: format!("{prefix}{i:02}"),
                org: i % orgs,
            })
            .collect()
    }

    #[test]
    fn same_seed_gives_the_same_draw_whatever_the_input_order() {
        // R17.3
        let stations = pool("s", 12, 12);
        let inspectors = pool("i", 20, 12);
        let a = draw(&stations, &inspectors, 42, 4, 3).unwrap();
        let mut reversed_s = stations.clone();
        reversed_s.reverse();
        let mut reversed_i = inspectors.clone();
        reversed_i.reverse();
        let b = draw(&reversed_s, &reversed_i, 42, 4, 3).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.algorithm, "chacha20-v1");
    }

    #[test]
    fn different_seeds_give_different_draws() {
        // R17.3
        let stations = pool("s", 30, 30);
        let inspectors = pool("i", 30, 30);
        let a = draw(&stations, &inspectors, 1, 5, 2).unwrap();
        let b = draw(&stations, &inspectors, 2, 5, 2).unwrap();
        assert_ne!(a.assignments, b.assignments);
    }

    #[test]
    fn golden_draw_for_seed_20250101_is_pinned() {
        // R17.3: a change here means the algorithm changed; bump
        // DRAW_ALGORITHM_VERSION rather than editing the expectation.
        let got = draw(&pool("s", 10, 10), &pool("i", 8, 4), 20_250_101, 3, 2).unwrap();
        let summary: Vec<(&str, Vec<&str>)> = got
            .assignments
            .iter()
            .map(|a| {
                (
                    a.station.as_str(),
                    a.inspectors.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        let expected: Vec<(&str, Vec<&str>)> = vec![
            ("s01", vec!["i00", "i04"]),
            ("s04", vec!["i04", "i02"]),
            ("s07", vec!["i04", "i05"]),
        ];
        assert_eq!(summary, expected);
    }

    #[test]
    fn inspector_of_the_stations_own_organization_is_never_drawn() {
        // R17.3: many seeds, every assignment checked.
        let stations = pool("s", 6, 3);
        let inspectors = pool("i", 9, 3);
        for seed in 0..200 {
            let result = draw(&stations, &inspectors, seed, 3, 4).unwrap();
            for a in &result.assignments {
                let org = stations.iter().find(|s| s.id == a.station).unwrap().org;
                for i in &a.inspectors {
                    let inspector_org = inspectors.iter().find(|x| &x.id == i).unwrap().org;
                    assert_ne!(inspector_org, org, "seed {seed}");
                }
                assert_eq!(a.inspectors.len(), 4);
            }
        }
    }

    #[test]
    fn too_few_eligible_inspectors_is_noted_and_all_eligible_are_used() {
        // R17.3: two inspectors, one of them from the station's own organization.
        let stations = vec![Candidate {
            id: "s1".to_string(),
            org: 1,
        }];
        let inspectors = vec![
            Candidate {
                id: "i1".to_string(),
                org: 1,
            },
            Candidate {
                id: "i2".to_string(),
                org: 2,
            },
        ];
        let result = draw(&stations, &inspectors, 7, 1, 2).unwrap();
        assert_eq!(result.assignments[0].inspectors, vec!["i2".to_string()]);
        assert_eq!(
            result.notes,
            vec![DrawNote::NotEnoughInspectors {
                station: "s1".into(),
                requested: 2,
                eligible: 1
            }]
        );
        assert_eq!(
            result.notes[0].message_zh(),
            "s1：需 2 名检查人员，回避本单位人员后仅有 1 名"
        );
    }

    #[test]
    fn too_few_stations_is_noted() {
        // R17.3
        let result = draw(&pool("s", 2, 2), &pool("i", 4, 4), 7, 3, 1).unwrap();
        assert_eq!(result.assignments.len(), 2);
        assert_eq!(
            result.notes[0],
            DrawNote::NotEnoughStations {
                requested: 3,
                available: 2
            }
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        // R17.3
        let mut stations = pool("s", 2, 2);
        stations.push(stations[0].clone());
        let err = draw(&stations, &pool("i", 2, 2), 7, 1, 1).unwrap_err();
        assert_eq!(
            err,
            DrawError::DuplicateId {
                pool: "station",
                id: "s00".into()
            }
        );
    }

    #[test]
    fn bounded_draw_covers_every_value_and_nothing_more() {
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[below(&mut rng, 7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800 && c < 1200), "{seen:?}");
    }

    #[test]
    fn a_record_sample_is_reproducible_and_independent_of_pool_order_r17_3() {
        let pool: Vec<u32> = (1..=1000).collect();
        let mut shuffled = pool.clone();
        shuffled.reverse();
        let a = sample(&pool, 42, 10);
        assert_eq!(a.len(), 10);
        assert_eq!(
            a,
            sample(&shuffled, 42, 10),
            "the order of the pool does not matter"
        );
        assert_ne!(a, sample(&pool, 43, 10), "another seed, another sample");
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10, "no record twice");
        assert_eq!(
            sample(&pool[..3], 1, 10).len(),
            3,
            "a small pool gives what it has"
        );
    }
}

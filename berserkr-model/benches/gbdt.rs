//! Fitting and scoring boosted trees on seeded synthetic data, by rows.
//!
//! The comparison with LightGBM on a purchase-likelihood-sized matrix is
//! `testdata/gbdt/compare_lightgbm.py`.

use std::hint::black_box;

use berserkr_model::gbdt::{GbdtParams, Samples};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

const FEATURES: usize = 20;

/// A nonlinear problem with 20% missing values and about 5% positives.
fn data(n: usize) -> (Array2<f64>, Vec<bool>) {
    let mut state = 0x5EED_u64;
    let mut uniform = move || {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut x = Array2::from_shape_fn((n, FEATURES), |_| uniform() * 2.0 - 1.0);
    let y = (0..n)
        .map(|i| {
            let r = x.row(i);
            let z = 3.0 * r[0] * r[1] + 2.0 * (r[2] > 0.3) as u8 as f64 + r[3].sin() * 2.0 - 4.0;
            uniform() < 1.0 / (1.0 + (-z).exp())
        })
        .collect();
    x.mapv_inplace(|v| if uniform() < 0.2 { f64::NAN } else { v });
    (x, y)
}

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("gbdt_fit_50_trees");
    group.sample_size(10);
    let params = GbdtParams::new().with_n_trees(50).check().unwrap();
    for n in [20_000, 100_000] {
        let (x, y) = data(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let samples = Samples::new(x.view(), &y).unwrap();
                black_box(params.fit(&samples).unwrap())
            })
        });
    }
    group.finish();
}

fn predict(c: &mut Criterion) {
    let mut group = c.benchmark_group("gbdt_predict_100_trees");
    let (x, y) = data(50_000);
    let model = GbdtParams::new()
        .with_n_trees(100)
        .check()
        .unwrap()
        .fit(&Samples::new(x.view(), &y).unwrap())
        .unwrap();
    for n in [1_000, 100_000] {
        let (x, _) = data(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(model.predict_proba(x.view()).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, fit, predict);
criterion_main!(benches);

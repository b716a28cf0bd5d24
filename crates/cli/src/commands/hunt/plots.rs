//! The report's plots, drawn as SVG in Rust (plotters), so the report needs
//! no script and no network.

use plotters::prelude::*;

use leakscope_report::hunt::GcPoint;

use crate::plot::{draw, time_chart, upper, PALETTE};
use leakscope_report::HuntReport as Hunt;

const SIZE: (u32, u32) = (860, 320);
const SINCE_START: &str = "seconds since the hunt started";

/// Heap used after each GC over the hunt, in MB.
pub fn heap_after_gc(h: &Hunt) -> String {
    let points: Vec<(f64, f64)> = h
        .gcs
        .iter()
        .map(|g| (g.seconds, g.heap_used as f64 / 1e6))
        .collect();
    let x_max = upper(points.iter().map(|p| p.0));
    let y_max = upper(points.iter().map(|p| p.1));
    draw(SIZE, |area| {
        let mut chart = time_chart(
            &area,
            "Heap used after each GC",
            (x_max, y_max),
            (SINCE_START, "MB"),
        )?;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), &PALETTE[0]))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 2, PALETTE[0].filled())),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// GC pauses over the hunt, one series per kind.
pub fn gc_pauses(h: &Hunt) -> String {
    let kinds: Vec<&str> = {
        let mut k: Vec<&str> = h.gcs.iter().map(|g| g.kind.as_str()).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let x_max = upper(h.gcs.iter().map(|g| g.seconds));
    let y_max = upper(h.gcs.iter().map(|g| g.pause_ms));
    draw(SIZE, |area| {
        let mut chart = time_chart(
            &area,
            "GC pauses",
            (x_max, y_max),
            (SINCE_START, "pause, ms"),
        )?;
        for (i, kind) in kinds.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let of_kind = h.gcs.iter().filter(|g| g.kind == *kind);
            chart
                .draw_series(
                    of_kind
                        .map(|g: &GcPoint| Circle::new((g.seconds, g.pause_ms), 3, color.filled())),
                )
                .map_err(|e| e.to_string())?
                .label(*kind)
                .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Live count of the fastest-growing classes at each snapshot.
pub fn class_growth(h: &Hunt) -> String {
    let classes: Vec<_> = h.growing_classes.iter().take(PALETTE.len()).collect();
    let snapshots = h.rounds.len() + 1;
    let y_max = upper(
        classes
            .iter()
            .flat_map(|c| c.counts.iter().map(|&n| n as f64)),
    );
    draw(SIZE, |area| {
        let mut chart = ChartBuilder::on(&area)
            .caption(
                "Live objects per class at each snapshot",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(65)
            .build_cartesian_2d(0.0..(snapshots as f64 - 0.5), 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(snapshots)
            .x_label_formatter(&|x| {
                let r = x.round() as usize;
                if r == 0 {
                    "baseline".into()
                } else {
                    format!("round {r}")
                }
            })
            .y_desc("objects")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, class) in classes.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = class
                .counts
                .iter()
                .enumerate()
                .map(|(x, &n)| (x as f64, n as f64))
                .collect();
            let name: String = class.name.chars().take(40).collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

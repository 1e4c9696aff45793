//! Tests of `is_compatible` and platform expansion against what pip 23.2.1 and `packaging`
//! accept; the expected tag lists come from `pip debug --verbose --python-version X.Y
//! --platform P`.

use super::*;

fn target(python: Option<(u8, u8)>, platforms: &[&str]) -> Target {
    Target {
        python_version: python,
        platforms: platforms.iter().map(|p| p.to_string()).collect(),
        implementation: None,
        abis: Vec::new(),
    }
}

fn assert_kept(target: &Target, keep: &[&str], drop: &[&str]) {
    for name in keep {
        assert!(
            is_compatible(name, target),
            "{name} should be kept for {target:?}"
        );
    }
    for name in drop {
        assert!(
            !is_compatible(name, target),
            "{name} should be dropped for {target:?}"
        );
    }
}

#[test]
fn cp311_on_manylinux_2_17_keeps_what_pip_installs_there() {
    assert_kept(
        &target(Some((3, 11)), &["manylinux_2_17_x86_64"]),
        &[
            "numpy-1.26.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux2014_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux_2_12_x86_64.manylinux2010_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux2010_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux1_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux_2_5_x86_64.whl",
            "a-1.0-cp311-none-manylinux_2_17_x86_64.whl",
            "a-1.0-py3-none-manylinux1_x86_64.whl",
            "a-1.0-py3-none-any.whl",
            "a-1.0-cp311-none-any.whl",
            "a-1.0-py311-none-any.whl",
            "a-1.0-py30-none-any.whl",
            "a-1.0.tar.gz",
            "a-1.0.zip",
        ],
        &[
            "a-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux_2_18_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            "a-1.0-cp311-cp311-manylinux_2_17_i686.whl",
            "a-1.0-cp311-cp311-musllinux_1_1_x86_64.whl",
            "a-1.0-cp311-cp311-linux_x86_64.whl",
            "a-1.0-cp311-cp311-win_amd64.whl",
            "a-1.0-cp311-cp311-macosx_10_9_x86_64.whl",
            "a-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
            "a-1.0-cp311-cp311d-manylinux_2_17_x86_64.whl",
            "a-1.0-cp310-none-any.whl",
            "a-1.0-py312-none-any.whl",
            "a-1.0-py2-none-any.whl",
            "a-1.0.exe",
            "not-a-wheel.whl",
        ],
    );
}

#[test]
fn cp310_and_cp311_wheels_are_told_apart() {
    let cp310 = "a-1.0-cp310-cp310-manylinux_2_17_x86_64.whl";
    let cp311 = "a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl";
    assert_kept(
        &target(Some((3, 11)), &["manylinux_2_17_x86_64"]),
        &[cp311],
        &[cp310],
    );
    assert_kept(
        &target(Some((3, 10)), &["manylinux_2_17_x86_64"]),
        &[cp310],
        &[cp311],
    );
}

#[test]
fn abi3_wheels_of_older_minors_run_on_newer_cpython() {
    assert_kept(
        &target(Some((3, 11)), &["manylinux_2_17_x86_64"]),
        &[
            "c-41.0-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "a-1.0-cp311-abi3-manylinux_2_17_x86_64.whl",
            "a-1.0-cp32-abi3-manylinux_2_17_x86_64.whl",
        ],
        &[
            "a-1.0-cp312-abi3-manylinux_2_17_x86_64.whl",
            "a-1.0-cp310-cp310-manylinux_2_17_x86_64.whl",
            "a-1.0-py3-abi3-manylinux_2_17_x86_64.whl",
        ],
    );
}

#[test]
fn compressed_tag_sets_match_when_any_member_does() {
    assert_kept(
        &target(Some((3, 11)), &["win_amd64"]),
        &[
            "six-1.16.0-py2.py3-none-any.whl",
            "a-1.0-cp310.cp311-cp310.cp311-win_amd64.whl",
            "a-1.0-py3-none-win32.win_amd64.whl",
        ],
        &[
            "a-1.0-py2-none-any.whl",
            "a-1.0-cp39.cp310-abi3.none-win32.whl",
        ],
    );
}

#[test]
fn windows_platform_is_taken_literally() {
    assert_kept(
        &target(Some((3, 11)), &["win_amd64"]),
        &[
            "a-1.0-cp311-cp311-win_amd64.whl",
            "a-1.0-cp38-abi3-win_amd64.whl",
        ],
        &[
            "a-1.0-cp311-cp311-win32.whl",
            "a-1.0-cp311-cp311-win_arm64.whl",
        ],
    );
}

#[test]
fn legacy_manylinux_platforms_mean_their_glibc() {
    assert_kept(
        &target(Some((3, 11)), &["manylinux2014_x86_64"]),
        &[
            "a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux1_x86_64.whl",
        ],
        &["a-1.0-cp311-cp311-manylinux_2_24_x86_64.whl"],
    );
}

#[test]
fn manylinux_expands_to_older_glibc_like_packaging_does() {
    let x86: Vec<String> = expand_platform("manylinux_2_17_x86_64");
    let mut expected = Vec::new();
    for minor in (5..=17).rev() {
        expected.push(format!("manylinux_2_{minor}_x86_64"));
        match minor {
            17 => expected.push("manylinux2014_x86_64".into()),
            12 => expected.push("manylinux2010_x86_64".into()),
            5 => expected.push("manylinux1_x86_64".into()),
            _ => {}
        }
    }
    assert_eq!(x86, expected);
    // On other architectures packaging stops at glibc 2.17.
    let arm = expand_platform("manylinux_2_28_aarch64");
    assert_eq!(
        arm.first().map(String::as_str),
        Some("manylinux_2_28_aarch64")
    );
    assert_eq!(
        arm.last().map(String::as_str),
        Some("manylinux2014_aarch64")
    );
    assert!(
        !arm.iter()
            .any(|p| p.contains("2010") || p.contains("_2_16_"))
    );
    // A glibc older than packaging considers stays as given.
    assert_eq!(
        expand_platform("manylinux_2_12_aarch64"),
        vec!["manylinux_2_12_aarch64"]
    );
}

#[test]
fn aarch64_manylinux_keeps_manylinux2014_but_not_older_names() {
    assert_kept(
        &target(Some((3, 12)), &["manylinux_2_28_aarch64"]),
        &[
            "a-1.0-cp312-cp312-manylinux2014_aarch64.whl",
            "a-1.0-cp312-cp312-manylinux_2_28_aarch64.whl",
        ],
        &[
            "a-1.0-cp312-cp312-manylinux_2_31_aarch64.whl",
            "a-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        ],
    );
}

#[test]
fn musllinux_keeps_older_musl_minors_only() {
    assert_kept(
        &target(Some((3, 11)), &["musllinux_1_2_x86_64"]),
        &[
            "a-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
            "a-1.0-cp311-cp311-musllinux_1_1_x86_64.whl",
            "a-1.0-cp311-cp311-musllinux_1_0_x86_64.whl",
        ],
        &[
            "a-1.0-cp311-cp311-musllinux_1_3_x86_64.whl",
            "a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a-1.0-cp311-cp311-musllinux_1_1_aarch64.whl",
        ],
    );
}

#[test]
fn macos_arm64_expands_exactly_as_pip_does() {
    // `pip debug --verbose --python-version 3.11 --platform macosx_11_0_arm64`, pip 23.2.1.
    let mut expected = vec![
        "macosx_11_0_arm64".to_string(),
        "macosx_11_0_universal2".into(),
    ];
    expected.extend((4..=16).rev().map(|m| format!("macosx_10_{m}_universal2")));
    assert_eq!(expand_platform("macosx_11_0_arm64"), expected);
}

#[test]
fn macos_ranges_and_universal2() {
    assert_kept(
        &target(Some((3, 11)), &["macosx_14_0_arm64"]),
        &[
            "a-1.0-cp311-cp311-macosx_14_0_arm64.whl",
            "a-1.0-cp311-cp311-macosx_12_0_arm64.whl",
            "a-1.0-cp311-cp311-macosx_11_0_arm64.whl",
            "a-1.0-cp311-cp311-macosx_10_9_universal2.whl",
        ],
        &[
            "a-1.0-cp311-cp311-macosx_15_0_arm64.whl",
            "a-1.0-cp311-cp311-macosx_10_9_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_14_0_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_12_3_arm64.whl",
        ],
    );
    assert_kept(
        &target(Some((3, 11)), &["macosx_10_15_x86_64"]),
        &[
            "a-1.0-cp311-cp311-macosx_10_9_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_10_6_intel.whl",
            "a-1.0-cp311-cp311-macosx_10_9_universal2.whl",
        ],
        &[
            "a-1.0-cp311-cp311-macosx_10_16_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_11_0_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_10_9_arm64.whl",
        ],
    );
    assert_kept(
        &target(Some((3, 11)), &["macosx_12_0_x86_64"]),
        &[
            "a-1.0-cp311-cp311-macosx_11_0_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_10_16_x86_64.whl",
            "a-1.0-cp311-cp311-macosx_10_4_fat64.whl",
        ],
        &["a-1.0-cp311-cp311-macosx_11_0_arm64.whl"],
    );
}

#[test]
fn pythons_before_3_8_use_the_pymalloc_abi() {
    assert_kept(
        &target(Some((3, 7)), &["manylinux2014_x86_64"]),
        &["a-1.0-cp37-cp37m-manylinux1_x86_64.whl"],
        &["a-1.0-cp37-cp37-manylinux1_x86_64.whl"],
    );
}

#[test]
fn other_implementations_use_generic_tags() {
    let mut pypy = target(Some((3, 10)), &["manylinux_2_17_x86_64"]);
    pypy.implementation = Some("pp".into());
    assert_kept(
        &pypy,
        &[
            "a-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
            "a-1.0-py3-none-any.whl",
            "a-1.0-pp310-none-any.whl",
        ],
        &[
            "a-1.0-cp310-cp310-manylinux_2_17_x86_64.whl",
            "a-1.0-cp310-abi3-manylinux_2_17_x86_64.whl",
        ],
    );
}

#[test]
fn explicit_abis_replace_the_default_one() {
    let mut free_threaded = target(Some((3, 13)), &["manylinux_2_17_x86_64"]);
    free_threaded.abis = vec!["cp313t".into()];
    assert_kept(
        &free_threaded,
        &["a-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl"],
        &[
            "a-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
            "a-1.0-cp39-abi3-manylinux_2_17_x86_64.whl",
        ],
    );
}

#[test]
fn empty_fields_constrain_nothing() {
    assert_kept(
        &Target::default(),
        &[
            "a-1.0-cp311-cp311-win_amd64.whl",
            "a-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
            "a-1.0-py2-none-any.whl",
        ],
        &["a-1.0.egg", "a-1.0-py3.whl"],
    );
    assert_kept(
        &target(None, &["win_amd64"]),
        &["a-1.0-cp39-cp39-win_amd64.whl", "a-1.0-py3-none-any.whl"],
        &["a-1.0-cp39-cp39-manylinux_2_17_x86_64.whl"],
    );
    assert_kept(
        &target(Some((3, 11)), &[]),
        &[
            "a-1.0-cp311-cp311-win_amd64.whl",
            "a-1.0-cp311-cp311-any.whl",
        ],
        &["a-1.0-cp310-cp310-win_amd64.whl"],
    );
}

#[test]
fn tags_compare_case_insensitively() {
    assert_kept(
        &target(Some((3, 11)), &["Win_AMD64"]),
        &["a-1.0-CP311-cp311-win_amd64.whl", "a-1.0-py3-none-ANY.whl"],
        &[],
    );
}

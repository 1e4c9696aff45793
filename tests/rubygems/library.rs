//! The library half of RubyGems that `opp proxy` builds on, against the local store: gems
//! described from real `gem build` output, pushed with `Packages::push_rubygems`, and read
//! back per platform with `gem_release` and `gem_info` (the info layer, not the gem).

use crate::Gems;
use crate::support::cli::Env;

/// What the proxy relies on: `Packages::push_rubygems` of described gems, then
/// `gem_release` and `gem_info` read every platform's specification back without the gem.
#[tokio::test]
async fn the_library_reads_back_each_gems_info_without_downloading_it() {
    use opp::ecosystem::rubygems::{self, DependencyKind};
    use opp::mapper::Mapper;
    use opp::output::Output;
    use opp::packages::Packages;
    use opp::store::layout::LayoutStore;

    let env = Env::new();
    let g = Gems::build(&env);
    let store = LayoutStore::new(env.store());
    let mapper = Mapper::new("").unwrap();
    let out = Output::new(true);
    let pkgs = Packages {
        store: &store,
        mapper: &mapper,
        out: &out,
    };
    let described: Vec<rubygems::Gem> = [&g.plain, &g.linux, &g.needs]
        .iter()
        .map(|p| rubygems::describe(p).unwrap())
        .collect();
    let pushed = pkgs.push_rubygems(described.clone(), false).await.unwrap();
    assert_eq!(pushed.len(), 3);

    let release = pkgs.gem_release("FOO_BAR", "1.2.0").await.unwrap().unwrap();
    assert_eq!(release.package, "foo_bar");
    assert_eq!(release.files.len(), 2);
    for file in &release.files {
        let info = pkgs.gem_info("foo_bar", file).await.unwrap();
        let gem = described.iter().find(|d| d.file_name == file.name).unwrap();
        assert_eq!(info, gem.info);
        assert_eq!(info.sha256, file.digest.hex());
    }
    let needs = pkgs
        .gem_release("needs_foo", "0.1.0")
        .await
        .unwrap()
        .unwrap();
    let info = pkgs.gem_info("needs_foo", &needs.files[0]).await.unwrap();
    let deps: Vec<(&str, DependencyKind, String)> = info
        .runtime_dependencies()
        .map(|d| (d.name.as_str(), d.kind, d.requirement.compact()))
        .collect();
    assert_eq!(
        deps,
        [
            ("Foo_Bar", DependencyKind::Runtime, "~> 1.2".to_owned()),
            ("rake", DependencyKind::Runtime, ">= 10&< 14".to_owned()),
        ]
    );
    assert!(
        pkgs.gem_release("foo_bar", "9.9.9")
            .await
            .unwrap()
            .is_none()
    );
}

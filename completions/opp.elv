
use builtin;
use str;

set edit:completion:arg-completer[opp] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'opp'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'opp'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand push 'Push distribution files into the store or registry'
            cand pull 'Pull a version''s files out of the store or registry'
            cand list 'List packages (of every ecosystem, or of one), or the versions of one package'
            cand show 'Show the files of one version'
            cand lock 'Write a provider''s hashes for every stored platform into .terraform.lock.hcl'
            cand copy 'Copy a version, with every blob it references, between stores and registries'
            cand export 'Write packages of the store, with everything they reference, into one bundle file'
            cand import 'Load a bundle written by `opp export` into the store, verified'
            cand mirror 'Bring packages and their dependencies from a public index into the store, verified'
            cand proxy 'Serve the store to pip, uv, twine, terraform and nuget in their own protocols on 127.0.0.1, and run a command pointed at it'
            cand login 'Log in to a registry: check a username and password with it, then save them'
            cand logout 'Remove the saved credentials for a registry'
            cand completions 'Print a shell completion script'
            cand man 'Write the man pages into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;push'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
            cand pypi 'Push Python wheels and sdists (files, or directories holding them)'
            cand terraform-provider 'Push a Terraform provider release directory (goreleaser layout) as one version'
            cand terraform-module 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version'
            cand nuget 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)'
            cand rubygems 'Push Ruby gems (.gem files, or directories holding them)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;push;pypi'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --force 'Replace a stored file of the same name that has other bytes'
            cand --json 'Print what was pushed as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;push;terraform-provider'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --force 'Replace a stored file of the same name that has other bytes'
            cand --json 'Print what was pushed as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;push;terraform-module'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --force 'Replace a stored file of the same name that has other bytes'
            cand --json 'Print what was pushed as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;push;nuget'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --force 'Replace a stored file of the same name that has other bytes'
            cand --json 'Print what was pushed as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;push;rubygems'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --force 'Replace a stored file of the same name that has other bytes'
            cand --json 'Print what was pushed as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;push;help'= {
            cand pypi 'Push Python wheels and sdists (files, or directories holding them)'
            cand terraform-provider 'Push a Terraform provider release directory (goreleaser layout) as one version'
            cand terraform-module 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version'
            cand nuget 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)'
            cand rubygems 'Push Ruby gems (.gem files, or directories holding them)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;push;help;pypi'= {
        }
        &'opp;push;help;terraform-provider'= {
        }
        &'opp;push;help;terraform-module'= {
        }
        &'opp;push;help;nuget'= {
        }
        &'opp;push;help;rubygems'= {
        }
        &'opp;push;help;help'= {
        }
        &'opp;pull'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
            cand pypi 'Pull Python wheels and sdists'
            cand terraform-provider 'Write a Terraform provider version into a filesystem mirror directory'
            cand terraform-module 'Unpack a Terraform module version into a directory'
            cand nuget 'Pull a NuGet package (.nupkg)'
            cand rubygems 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;pull;pypi'= {
            cand -r 'Also pull every requirement in FILE (pip''s format: one per line, `#` comments, `--hash=sha256:...`; editable, URL and path lines are refused); repeatable'
            cand --requirement 'Also pull every requirement in FILE (pip''s format: one per line, `#` comments, `--hash=sha256:...`; editable, URL and path lines are refused); repeatable'
            cand -o 'Directory to write the files into'
            cand --output 'Directory to write the files into'
            cand --python-version 'Keep only files installable on this Python version (e.g. 3.11)'
            cand --platform 'Keep only files installable on this platform (e.g. manylinux_2_17_x86_64); repeatable'
            cand --implementation 'Python implementation for the filter (cp, pp ...; default cp)'
            cand --abi 'ABI for the filter (e.g. cp311, abi3); repeatable'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --pre 'Allow pre-release versions'
            cand --json 'Print what was written as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;pull;terraform-provider'= {
            cand -o 'The mirror directory. The default, terraform.d/plugins, is one terraform searches by itself; otherwise pass it to `terraform init -plugin-dir DIR`'
            cand --output 'The mirror directory. The default, terraform.d/plugins, is one terraform searches by itself; otherwise pass it to `terraform init -plugin-dir DIR`'
            cand --platform 'Platform to fetch, as OS_ARCH (e.g. linux_amd64); repeatable. Default: this machine''s'
            cand --hostname 'Registry hostname of the provider address the mirror serves (default: the address''s own, registry.terraform.io when it names none)'
            cand --max-unpacked-size 'With --unpacked: the most one provider zip may unpack to, e.g. 4GiB; a zip that unpacks to more is refused and nothing is written'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --all-platforms 'Fetch every stored platform'
            cand --unpacked 'Write the unpacked layout (HOST/NS/TYPE/VERSION/OS_ARCH/) instead of zips'
            cand --json 'Print what was written as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;pull;terraform-module'= {
            cand -o 'Directory to unpack the module into (created; must be empty unless --force)'
            cand --output 'Directory to unpack the module into (created; must be empty unless --force)'
            cand --max-unpacked-size 'The most the module zip may unpack to, e.g. 4GiB; a zip that unpacks to more is refused and nothing is written'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --force 'Replace the contents of a non-empty output directory'
            cand --json 'Print what was written as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;pull;nuget'= {
            cand -o 'Directory to write the .nupkg into'
            cand --output 'Directory to write the .nupkg into'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --prerelease 'Allow pre-release versions (also --pre)'
            cand --pre 'Allow pre-release versions (also --pre)'
            cand --json 'Print what was written as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;pull;rubygems'= {
            cand -o 'Directory to write the gem into'
            cand --output 'Directory to write the gem into'
            cand --platform 'The gem platform to pull (e.g. x86_64-linux, java); default: the plain `ruby` gem'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --pre 'Allow pre-release versions (also --prerelease)'
            cand --prerelease 'Allow pre-release versions (also --prerelease)'
            cand --json 'Print what was written as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;pull;help'= {
            cand pypi 'Pull Python wheels and sdists'
            cand terraform-provider 'Write a Terraform provider version into a filesystem mirror directory'
            cand terraform-module 'Unpack a Terraform module version into a directory'
            cand nuget 'Pull a NuGet package (.nupkg)'
            cand rubygems 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;pull;help;pypi'= {
        }
        &'opp;pull;help;terraform-provider'= {
        }
        &'opp;pull;help;terraform-module'= {
        }
        &'opp;pull;help;nuget'= {
        }
        &'opp;pull;help;rubygems'= {
        }
        &'opp;pull;help;help'= {
        }
        &'opp;list'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --json 'Print JSON on stdout instead of a table'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;show'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --json 'Print JSON on stdout instead of a table'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;lock'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
            cand terraform-provider 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;lock;terraform-provider'= {
            cand --lock-file 'The lock file to write or update'
            cand --hostname 'Registry hostname of the provider address in the lock file (default: the address''s own, registry.terraform.io when it names none)'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --json 'Print the locked version and hashes as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;lock;help'= {
            cand terraform-provider 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;lock;help;terraform-provider'= {
        }
        &'opp;lock;help;help'= {
        }
        &'opp;copy'= {
            cand --from 'Source: `local` (the local store), a store directory (starting with / or .), or a registry HOST[:PORT][/PREFIX]. Default: the configured store or registry'
            cand --to 'Destination, in the same forms as --from'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --json 'Print what was copied as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;export'= {
            cand -o 'The bundle to write: a tar, zstd-compressed when the name ends in .zst (deps.tar.zst). Its opp-bundle.json is also written beside it, as FILE.opp-bundle.json'
            cand --output 'The bundle to write: a tar, zstd-compressed when the name ends in .zst (deps.tar.zst). Its opp-bundle.json is also written beside it, as FILE.opp-bundle.json'
            cand --since 'Leave out what this earlier bundle holds (a delta bundle)'
            cand --since-index 'As --since, from the earlier bundle''s opp-bundle.json (written beside it on export)'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --all 'Export every version of every package in the store'
            cand --json 'Print what was exported as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;import'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --dry-run 'Read and verify the whole bundle and report what would happen; write nothing'
            cand --force 'Replace files (and Terraform versions) the target holds with other bytes'
            cand --json 'Print the per-version report as JSON on stdout instead of a table'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
            cand pypi 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)'
            cand rubygems 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)'
            cand nuget 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)'
            cand terraform-provider 'Mirror Terraform providers from a provider registry, signatures checked, every platform'
            cand terraform-module 'Mirror Terraform modules from a module registry: the whole package its download names (an https archive or a git repository), zipped in OpenTofu''s layout'
            cand terraform 'Mirror the providers and registry modules a Terraform configuration requires, read from its .tf files'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;mirror;pypi'= {
            cand -r 'A requirements file: pinned lines (NAME==VERSION, with --hash=sha256:... lines) are mirrored exactly, unpinned ones with their dependencies; repeatable'
            cand --requirement 'A requirements file: pinned lines (NAME==VERSION, with --hash=sha256:... lines) are mirrored exactly, unpinned ones with their dependencies; repeatable'
            cand --lock 'A lock file mirrored exactly, no resolution: PEP 751 pylock.toml, or uv.lock (every file it lists from an index; with targets, the wheels some target can install); repeatable'
            cand -c 'A constraints file (NAME<SPECIFIER> lines) applied to every package it names; repeatable'
            cand --constraint 'A constraints file (NAME<SPECIFIER> lines) applied to every package it names; repeatable'
            cand --upstream 'The simple index to mirror from (PEP 503 HTML or PEP 691 JSON). Default: `upstream` of [mirror.pypi] in the config file, else https://pypi.org/simple/. Credentials as pip finds them: https://USER:PASSWORD@HOST/..., else the host''s ~/.netrc (NETRC) entry, else, for https://USER@HOST/..., the keyring entry of service HOST and user USER; never printed'
            cand --python-version 'Mirror for this Python version (e.g. 3.12): markers, Requires-Python and wheel tags are checked against it; repeatable. Default: any'
            cand --platform 'Mirror for this platform tag (e.g. manylinux_2_17_x86_64, macosx_11_0_arm64, win_amd64; Linux and macOS tags cover their older releases, as pip does); repeatable. Default: any'
            cand --only-binary 'Wheels only, for :all: packages or the ones named (comma-separated), as pip''s flag'
            cand --no-binary 'Source distributions only, for :all: packages or the ones named, as pip''s flag'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --all-files 'Every file of each chosen version, not only those for the targets'
            cand --pre 'Allow pre-releases (a pinned pre-release is taken without it)'
            cand --no-stream 'Download every file into a temporary file before storing it. By default a wheel whose sha256, size and metadata the index states (PEP 691 JSON with PEP 658, as PyPI serves them) streams straight into the store'
            cand --dry-run 'Print the plan (what would be mirrored, what is already stored); write nothing'
            cand --json 'Print the result of every file as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror;rubygems'= {
            cand --lock 'A Gemfile.lock mirrored exactly, no resolution: every gem of its GEM sections at the version and platform it pins, checked against its CHECKSUMS section where there is one; repeatable'
            cand --platform 'Mirror for this platform (x86_64-linux, arm64-darwin, x64-mingw-ucrt, java, ruby): a version''s platform gem where one runs there, else its plain gem; repeatable. Default: every file of each chosen version'
            cand --ruby-version 'Mirror for this Ruby (X.Y or X.Y.Z): versions whose required_ruby_version excludes it are not chosen. Default: any Ruby'
            cand --upstream 'The gem source to mirror from (its compact index, /info/NAME, and /gems/). Default: `upstream` of [mirror.rubygems] in opp''s config file, else https://rubygems.org/; with --lock the lock''s own remote. Credentials are found as Bundler finds them (https://USER:PASSWORD@HOST/, `bundle config set HOST USER:PASSWORD`, BUNDLE_HOST), else in ~/.netrc or the keyring; never printed'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --pre 'Allow pre-releases (a requirement naming one allows them without it)'
            cand --dry-run 'Print the plan (what would be mirrored, what is already stored); write nothing'
            cand --json 'Print the result of every file as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror;nuget'= {
            cand --framework 'Mirror the dependencies this target framework needs (net8.0, net6.0, netstandard2.0, netcoreapp3.1, net48 ...), each package''s nearest dependency group as NuGet chooses it; repeatable. Default: every dependency group'
            cand --lock 'A packages.lock.json mirrored exactly, no resolution: every package version it names, checked against its contentHash (SHA-512); repeatable'
            cand --project 'An SDK-style project (.csproj, .fsproj ...): its PackageReference items (versions from Directory.Packages.props for Central Package Management) with their dependencies, for its TargetFramework(s); repeatable'
            cand --upstream 'The NuGet v3 feed to mirror from: its service index URL, or the key of a package source in NuGet.Config. Default: `upstream` of [mirror.nuget] in opp''s config file, else https://api.nuget.org/v3/index.json. Credentials are found as NuGet finds them (packageSourceCredentials of the source with that URL in NuGet.Config), else in https://USER:TOKEN@HOST/..., ~/.netrc or the keyring; never printed'
            cand --configfile 'The NuGet.Config to read package sources and credentials from, alone (as `nuget -ConfigFile` and `dotnet --configfile`); default: the NuGet.Config files NuGet reads (this directory and those above it, then the user''s and the machine''s)'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --lowest 'A range on the command line mirrors its lowest match (as dependencies always do), not its newest'
            cand --prerelease 'Allow pre-release versions (a pinned pre-release, or a range naming one, is taken without it)'
            cand --symbols 'Also mirror each version''s .snupkg symbols package where the feed has one (nuget.org''s https://www.nuget.org/api/v2/symbolpackage/ID/VERSION, beside the feed''s SymbolPackagePublish resource, else its flat container), stored beside the .nupkg'
            cand --dry-run 'Print the plan (what would be mirrored, what is already stored); write nothing'
            cand --json 'Print the result of every file as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror;terraform-provider'= {
            cand --lock 'A .terraform.lock.hcl: every provider it locks, at exactly the locked version, for the platforms whose zips its zh: hashes name (checked against them and, when every platform is mirrored, its h1: hashes)'
            cand --platform 'Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every platform the registry lists for the version'
            cand --upstream 'Where to fetch from instead of the address''s host (registry.terraform.io when it names none); what is stored is still named by the address. HOST[:PORT] is a provider registry (found through its /.well-known/terraform.json); an https:// URL is a provider network mirror (HOSTNAME/NAMESPACE/TYPE/index.json under it, what `terraform providers mirror` writes), as in Terraform''s own CLI config. A network mirror signs nothing: each zip is checked against its h1:/zh: hashes (and --lock''s), and the version is stored unsigned'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --insecure-skip-signature 'DANGEROUS: do not check SHA256SUMS''s OpenPGP signature against the registry''s keys (the zips are still checked against SHA256SUMS); the stored versions say they are unverified'
            cand --dry-run 'Print the plan (what would be mirrored, what is already stored); write nothing'
            cand --json 'Print the result of every file as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror;terraform-module'= {
            cand --upstream 'The module registry to fetch from (its /.well-known/terraform.json), instead of the address''s host (registry.terraform.io when it names none)'
            cand --max-unpacked-size 'The most one module package may unpack to, e.g. 4GiB; a larger one is refused and nothing is stored'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --dry-run 'Print the plan (what would be mirrored, what is already stored); write nothing'
            cand --json 'Print the result of every module version as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror;terraform'= {
            cand --dir 'The configuration''s root module: its .tf files and the local modules it calls (./x, ../x) are read for required_providers, provider blocks, resources'' implied providers and registry module calls. Per provider, the newest version meeting every constraint in the tree is mirrored; a .terraform.lock.hcl there wins for the providers it locks'
            cand --platform 'Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every platform the registry lists for the version'
            cand --upstream 'The provider registry to fetch every provider from (its /.well-known/terraform.json), instead of each address''s host (registry.terraform.io when it names none)'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --insecure-skip-signature 'DANGEROUS: do not check SHA256SUMS''s OpenPGP signature against the registry''s keys (the zips are still checked against SHA256SUMS); the stored versions say they are unverified'
            cand --dry-run 'Print the plan (providers, registry modules, what would be mirrored); write nothing'
            cand --json 'Print the requirements found and the result of every file as JSON on stdout'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;mirror;help'= {
            cand pypi 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)'
            cand rubygems 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)'
            cand nuget 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)'
            cand terraform-provider 'Mirror Terraform providers from a provider registry, signatures checked, every platform'
            cand terraform-module 'Mirror Terraform modules from a module registry: the whole package its download names (an https archive or a git repository), zipped in OpenTofu''s layout'
            cand terraform 'Mirror the providers and registry modules a Terraform configuration requires, read from its .tf files'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;mirror;help;pypi'= {
        }
        &'opp;mirror;help;rubygems'= {
        }
        &'opp;mirror;help;nuget'= {
        }
        &'opp;mirror;help;terraform-provider'= {
        }
        &'opp;mirror;help;terraform-module'= {
        }
        &'opp;mirror;help;terraform'= {
        }
        &'opp;mirror;help;help'= {
        }
        &'opp;proxy'= {
            cand --port 'Port to listen on (default: a free one); the HTTPS listener''s when both are served'
            cand --bind 'Address to listen on (default: 127.0.0.1). Any address but loopback needs HTTPS: --http and --plain-http are refused with it. The certificate covers the address'
            cand --ecosystems 'Ecosystems to serve, comma-separated (e.g. pypi,terraform). Default: all of them'
            cand --upstream 'Package index to fall back to for PyPI names the store does not have (e.g. https://pypi.org/simple/)'
            cand --module-host 'Hostname Terraform module sources use to reach the proxy (it must resolve to 127.0.0.1; the proxy''s certificate covers it)'
            cand --max-upload-size 'Largest package the proxy accepts in one upload (twine, gem push, nuget push), e.g. 512MiB or 2GB; a larger body is refused with HTTP 413 and nothing is stored'
            cand --cache-ttl 'How long tag lists and tags read from a registry are reused (e.g. 5s, 500ms, 0 for never). Manifests and small blobs by digest never change and are always kept in memory (8 MiB at most). A push through the proxy is visible at once; one by others after at most this time'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --http 'Serve every client plain HTTP on http://127.0.0.1:PORT. By default the proxy listens twice on loopback: plain HTTP for the clients that accept it there (pip, uv, twine, gem, bundler, nuget.exe), HTTPS on https://localhost:PORT for those that do not (terraform''s provider mirror, dotnet). The global --plain-http does the same for `opp proxy`, besides talking plain HTTP to the registry'
            cand --https 'Serve every client HTTPS on https://localhost:PORT, with a throwaway CA handed to the command (the bundle is in OPP_PROXY_CA_BUNDLE)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;login'= {
            cand -u 'The username (asked for when not given)'
            cand --username 'The username (asked for when not given)'
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --password-stdin 'Read the password (or token) from standard input, for scripts and CI'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;logout'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'opp;completions'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;man'= {
            cand --registry 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store'
            cand --store 'Local store directory (default: opp/store in the user''s data directory)'
            cand --config 'Config file (default: opp/config.toml in the user''s config directory)'
            cand --retry-timeout 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)'
            cand --registry-config 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)'
            cand --plain-http 'Talk plain HTTP to the registry (loopback hosts always do)'
            cand -q 'Print nothing but errors and requested output; no progress bars'
            cand --quiet 'Print nothing but errors and requested output; no progress bars'
            cand -v 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand --verbose 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'opp;help'= {
            cand push 'Push distribution files into the store or registry'
            cand pull 'Pull a version''s files out of the store or registry'
            cand list 'List packages (of every ecosystem, or of one), or the versions of one package'
            cand show 'Show the files of one version'
            cand lock 'Write a provider''s hashes for every stored platform into .terraform.lock.hcl'
            cand copy 'Copy a version, with every blob it references, between stores and registries'
            cand export 'Write packages of the store, with everything they reference, into one bundle file'
            cand import 'Load a bundle written by `opp export` into the store, verified'
            cand mirror 'Bring packages and their dependencies from a public index into the store, verified'
            cand proxy 'Serve the store to pip, uv, twine, terraform and nuget in their own protocols on 127.0.0.1, and run a command pointed at it'
            cand login 'Log in to a registry: check a username and password with it, then save them'
            cand logout 'Remove the saved credentials for a registry'
            cand completions 'Print a shell completion script'
            cand man 'Write the man pages into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'opp;help;push'= {
            cand pypi 'Push Python wheels and sdists (files, or directories holding them)'
            cand terraform-provider 'Push a Terraform provider release directory (goreleaser layout) as one version'
            cand terraform-module 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version'
            cand nuget 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)'
            cand rubygems 'Push Ruby gems (.gem files, or directories holding them)'
        }
        &'opp;help;push;pypi'= {
        }
        &'opp;help;push;terraform-provider'= {
        }
        &'opp;help;push;terraform-module'= {
        }
        &'opp;help;push;nuget'= {
        }
        &'opp;help;push;rubygems'= {
        }
        &'opp;help;pull'= {
            cand pypi 'Pull Python wheels and sdists'
            cand terraform-provider 'Write a Terraform provider version into a filesystem mirror directory'
            cand terraform-module 'Unpack a Terraform module version into a directory'
            cand nuget 'Pull a NuGet package (.nupkg)'
            cand rubygems 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)'
        }
        &'opp;help;pull;pypi'= {
        }
        &'opp;help;pull;terraform-provider'= {
        }
        &'opp;help;pull;terraform-module'= {
        }
        &'opp;help;pull;nuget'= {
        }
        &'opp;help;pull;rubygems'= {
        }
        &'opp;help;list'= {
        }
        &'opp;help;show'= {
        }
        &'opp;help;lock'= {
            cand terraform-provider 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms'
        }
        &'opp;help;lock;terraform-provider'= {
        }
        &'opp;help;copy'= {
        }
        &'opp;help;export'= {
        }
        &'opp;help;import'= {
        }
        &'opp;help;mirror'= {
            cand pypi 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)'
            cand rubygems 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)'
            cand nuget 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)'
            cand terraform-provider 'Mirror Terraform providers from a provider registry, signatures checked, every platform'
            cand terraform-module 'Mirror Terraform modules from a module registry: the whole package its download names (an https archive or a git repository), zipped in OpenTofu''s layout'
            cand terraform 'Mirror the providers and registry modules a Terraform configuration requires, read from its .tf files'
        }
        &'opp;help;mirror;pypi'= {
        }
        &'opp;help;mirror;rubygems'= {
        }
        &'opp;help;mirror;nuget'= {
        }
        &'opp;help;mirror;terraform-provider'= {
        }
        &'opp;help;mirror;terraform-module'= {
        }
        &'opp;help;mirror;terraform'= {
        }
        &'opp;help;proxy'= {
        }
        &'opp;help;login'= {
        }
        &'opp;help;logout'= {
        }
        &'opp;help;completions'= {
        }
        &'opp;help;man'= {
        }
        &'opp;help;help'= {
        }
    ]
    $completions[$command]
}

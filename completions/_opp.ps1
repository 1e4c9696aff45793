
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'opp' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'opp'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'opp' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push distribution files into the store or registry')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull a version''s files out of the store or registry')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List packages (of every ecosystem, or of one), or the versions of one package')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the files of one version')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Write a provider''s hashes for every stored platform into .terraform.lock.hcl')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy a version, with every blob it references, between stores and registries')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write packages of the store, with everything they reference, into one bundle file')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Load a bundle written by `opp export` into the store, verified')
            [CompletionResult]::new('mirror', 'mirror', [CompletionResultType]::ParameterValue, 'Bring packages and their dependencies from a public index into the store, verified')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Serve the store to pip, uv, twine, terraform and nuget in their own protocols on 127.0.0.1, and run a command pointed at it')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a registry: check a username and password with it, then save them')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove the saved credentials for a registry')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;push' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Push Python wheels and sdists (files, or directories holding them)')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Push a Terraform provider release directory (goreleaser layout) as one version')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Push Ruby gems (.gem files, or directories holding them)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;push;pypi' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a stored file of the same name that has other bytes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was pushed as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;push;terraform-provider' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a stored file of the same name that has other bytes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was pushed as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;push;terraform-module' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a stored file of the same name that has other bytes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was pushed as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;push;nuget' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a stored file of the same name that has other bytes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was pushed as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;push;rubygems' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a stored file of the same name that has other bytes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was pushed as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;push;help' {
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Push Python wheels and sdists (files, or directories holding them)')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Push a Terraform provider release directory (goreleaser layout) as one version')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Push Ruby gems (.gem files, or directories holding them)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;push;help;pypi' {
            break
        }
        'opp;push;help;terraform-provider' {
            break
        }
        'opp;push;help;terraform-module' {
            break
        }
        'opp;push;help;nuget' {
            break
        }
        'opp;push;help;rubygems' {
            break
        }
        'opp;push;help;help' {
            break
        }
        'opp;pull' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Pull Python wheels and sdists')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Write a Terraform provider version into a filesystem mirror directory')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Unpack a Terraform module version into a directory')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Pull a NuGet package (.nupkg)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;pull;pypi' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Also pull every requirement in FILE (pip''s format: one per line, `#` comments, `--hash=sha256:...`; editable, URL and path lines are refused); repeatable')
            [CompletionResult]::new('--requirement', '--requirement', [CompletionResultType]::ParameterName, 'Also pull every requirement in FILE (pip''s format: one per line, `#` comments, `--hash=sha256:...`; editable, URL and path lines are refused); repeatable')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Directory to write the files into')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Directory to write the files into')
            [CompletionResult]::new('--python-version', '--python-version', [CompletionResultType]::ParameterName, 'Keep only files installable on this Python version (e.g. 3.11)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Keep only files installable on this platform (e.g. manylinux_2_17_x86_64); repeatable')
            [CompletionResult]::new('--implementation', '--implementation', [CompletionResultType]::ParameterName, 'Python implementation for the filter (cp, pp ...; default cp)')
            [CompletionResult]::new('--abi', '--abi', [CompletionResultType]::ParameterName, 'ABI for the filter (e.g. cp311, abi3); repeatable')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Allow pre-release versions')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was written as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;pull;terraform-provider' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The mirror directory. The default, terraform.d/plugins, is one terraform searches by itself; otherwise pass it to `terraform init -plugin-dir DIR`')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The mirror directory. The default, terraform.d/plugins, is one terraform searches by itself; otherwise pass it to `terraform init -plugin-dir DIR`')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform to fetch, as OS_ARCH (e.g. linux_amd64); repeatable. Default: this machine''s')
            [CompletionResult]::new('--hostname', '--hostname', [CompletionResultType]::ParameterName, 'Registry hostname of the provider address the mirror serves (default: the address''s own, registry.terraform.io when it names none)')
            [CompletionResult]::new('--max-unpacked-size', '--max-unpacked-size', [CompletionResultType]::ParameterName, 'With --unpacked: the most one provider zip may unpack to, e.g. 4GiB; a zip that unpacks to more is refused and nothing is written')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--all-platforms', '--all-platforms', [CompletionResultType]::ParameterName, 'Fetch every stored platform')
            [CompletionResult]::new('--unpacked', '--unpacked', [CompletionResultType]::ParameterName, 'Write the unpacked layout (HOST/NS/TYPE/VERSION/OS_ARCH/) instead of zips')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was written as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;pull;terraform-module' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Directory to unpack the module into (created; must be empty unless --force)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Directory to unpack the module into (created; must be empty unless --force)')
            [CompletionResult]::new('--max-unpacked-size', '--max-unpacked-size', [CompletionResultType]::ParameterName, 'The most the module zip may unpack to, e.g. 4GiB; a zip that unpacks to more is refused and nothing is written')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace the contents of a non-empty output directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was written as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;pull;nuget' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Directory to write the .nupkg into')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Directory to write the .nupkg into')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--prerelease', '--prerelease', [CompletionResultType]::ParameterName, 'Allow pre-release versions (also --pre)')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Allow pre-release versions (also --pre)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was written as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;pull;rubygems' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Directory to write the gem into')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Directory to write the gem into')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'The gem platform to pull (e.g. x86_64-linux, java); default: the plain `ruby` gem')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Allow pre-release versions (also --prerelease)')
            [CompletionResult]::new('--prerelease', '--prerelease', [CompletionResultType]::ParameterName, 'Allow pre-release versions (also --prerelease)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was written as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;pull;help' {
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Pull Python wheels and sdists')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Write a Terraform provider version into a filesystem mirror directory')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Unpack a Terraform module version into a directory')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Pull a NuGet package (.nupkg)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;pull;help;pypi' {
            break
        }
        'opp;pull;help;terraform-provider' {
            break
        }
        'opp;pull;help;terraform-module' {
            break
        }
        'opp;pull;help;nuget' {
            break
        }
        'opp;pull;help;rubygems' {
            break
        }
        'opp;pull;help;help' {
            break
        }
        'opp;list' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of a table')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;show' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of a table')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;lock' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;lock;terraform-provider' {
            [CompletionResult]::new('--lock-file', '--lock-file', [CompletionResultType]::ParameterName, 'The lock file to write or update')
            [CompletionResult]::new('--hostname', '--hostname', [CompletionResultType]::ParameterName, 'Registry hostname of the provider address in the lock file (default: the address''s own, registry.terraform.io when it names none)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the locked version and hashes as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;lock;help' {
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;lock;help;terraform-provider' {
            break
        }
        'opp;lock;help;help' {
            break
        }
        'opp;copy' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Source: `local` (the local store), a store directory (starting with / or .), or a registry HOST[:PORT][/PREFIX]. Default: the configured store or registry')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Destination, in the same forms as --from')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was copied as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;export' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The bundle to write: a tar, zstd-compressed when the name ends in .zst (deps.tar.zst). Its opp-bundle.json is also written beside it, as FILE.opp-bundle.json')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The bundle to write: a tar, zstd-compressed when the name ends in .zst (deps.tar.zst). Its opp-bundle.json is also written beside it, as FILE.opp-bundle.json')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Leave out what this earlier bundle holds (a delta bundle)')
            [CompletionResult]::new('--since-index', '--since-index', [CompletionResultType]::ParameterName, 'As --since, from the earlier bundle''s opp-bundle.json (written beside it on export)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Export every version of every package in the store')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was exported as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;import' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Read and verify the whole bundle and report what would happen; write nothing')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace files (and Terraform versions) the target holds with other bytes')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the per-version report as JSON on stdout instead of a table')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Mirror Terraform providers from a provider registry, signatures checked, every platform')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Mirror Terraform modules from a module registry: the whole package its download names (an https archive or a git repository), zipped in OpenTofu''s layout')
            [CompletionResult]::new('terraform', 'terraform', [CompletionResultType]::ParameterValue, 'Mirror the providers and registry modules a Terraform configuration requires, read from its .tf files')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;mirror;pypi' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'A requirements file: pinned lines (NAME==VERSION, with --hash=sha256:... lines) are mirrored exactly, unpinned ones with their dependencies; repeatable')
            [CompletionResult]::new('--requirement', '--requirement', [CompletionResultType]::ParameterName, 'A requirements file: pinned lines (NAME==VERSION, with --hash=sha256:... lines) are mirrored exactly, unpinned ones with their dependencies; repeatable')
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'A lock file mirrored exactly, no resolution: PEP 751 pylock.toml, or uv.lock (every file it lists from an index; with targets, the wheels some target can install); repeatable')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'A constraints file (NAME<SPECIFIER> lines) applied to every package it names; repeatable')
            [CompletionResult]::new('--constraint', '--constraint', [CompletionResultType]::ParameterName, 'A constraints file (NAME<SPECIFIER> lines) applied to every package it names; repeatable')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The simple index to mirror from (PEP 503 HTML or PEP 691 JSON). Default: `upstream` of [mirror.pypi] in the config file, else https://pypi.org/simple/. Credentials as pip finds them: https://USER:PASSWORD@HOST/..., else the host''s ~/.netrc (NETRC) entry, else, for https://USER@HOST/..., the keyring entry of service HOST and user USER; never printed')
            [CompletionResult]::new('--python-version', '--python-version', [CompletionResultType]::ParameterName, 'Mirror for this Python version (e.g. 3.12): markers, Requires-Python and wheel tags are checked against it; repeatable. Default: any')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Mirror for this platform tag (e.g. manylinux_2_17_x86_64, macosx_11_0_arm64, win_amd64; Linux and macOS tags cover their older releases, as pip does); repeatable. Default: any')
            [CompletionResult]::new('--only-binary', '--only-binary', [CompletionResultType]::ParameterName, 'Wheels only, for :all: packages or the ones named (comma-separated), as pip''s flag')
            [CompletionResult]::new('--no-binary', '--no-binary', [CompletionResultType]::ParameterName, 'Source distributions only, for :all: packages or the ones named, as pip''s flag')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--all-files', '--all-files', [CompletionResultType]::ParameterName, 'Every file of each chosen version, not only those for the targets')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Allow pre-releases (a pinned pre-release is taken without it)')
            [CompletionResult]::new('--no-stream', '--no-stream', [CompletionResultType]::ParameterName, 'Download every file into a temporary file before storing it. By default a wheel whose sha256, size and metadata the index states (PEP 691 JSON with PEP 658, as PyPI serves them) streams straight into the store')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be mirrored, what is already stored); write nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result of every file as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror;rubygems' {
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'A Gemfile.lock mirrored exactly, no resolution: every gem of its GEM sections at the version and platform it pins, checked against its CHECKSUMS section where there is one; repeatable')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Mirror for this platform (x86_64-linux, arm64-darwin, x64-mingw-ucrt, java, ruby): a version''s platform gem where one runs there, else its plain gem; repeatable. Default: every file of each chosen version')
            [CompletionResult]::new('--ruby-version', '--ruby-version', [CompletionResultType]::ParameterName, 'Mirror for this Ruby (X.Y or X.Y.Z): versions whose required_ruby_version excludes it are not chosen. Default: any Ruby')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The gem source to mirror from (its compact index, /info/NAME, and /gems/). Default: `upstream` of [mirror.rubygems] in opp''s config file, else https://rubygems.org/; with --lock the lock''s own remote. Credentials are found as Bundler finds them (https://USER:PASSWORD@HOST/, `bundle config set HOST USER:PASSWORD`, BUNDLE_HOST), else in ~/.netrc or the keyring; never printed')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Allow pre-releases (a requirement naming one allows them without it)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be mirrored, what is already stored); write nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result of every file as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror;nuget' {
            [CompletionResult]::new('--framework', '--framework', [CompletionResultType]::ParameterName, 'Mirror the dependencies this target framework needs (net8.0, net6.0, netstandard2.0, netcoreapp3.1, net48 ...), each package''s nearest dependency group as NuGet chooses it; repeatable. Default: every dependency group')
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'A packages.lock.json mirrored exactly, no resolution: every package version it names, checked against its contentHash (SHA-512); repeatable')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'An SDK-style project (.csproj, .fsproj ...): its PackageReference items (versions from Directory.Packages.props for Central Package Management) with their dependencies, for its TargetFramework(s); repeatable')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The NuGet v3 feed to mirror from: its service index URL, or the key of a package source in NuGet.Config. Default: `upstream` of [mirror.nuget] in opp''s config file, else https://api.nuget.org/v3/index.json. Credentials are found as NuGet finds them (packageSourceCredentials of the source with that URL in NuGet.Config), else in https://USER:TOKEN@HOST/..., ~/.netrc or the keyring; never printed')
            [CompletionResult]::new('--configfile', '--configfile', [CompletionResultType]::ParameterName, 'The NuGet.Config to read package sources and credentials from, alone (as `nuget -ConfigFile` and `dotnet --configfile`); default: the NuGet.Config files NuGet reads (this directory and those above it, then the user''s and the machine''s)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--lowest', '--lowest', [CompletionResultType]::ParameterName, 'A range on the command line mirrors its lowest match (as dependencies always do), not its newest')
            [CompletionResult]::new('--prerelease', '--prerelease', [CompletionResultType]::ParameterName, 'Allow pre-release versions (a pinned pre-release, or a range naming one, is taken without it)')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Also mirror each version''s .snupkg symbols package where the feed has one (nuget.org''s https://www.nuget.org/api/v2/symbolpackage/ID/VERSION, beside the feed''s SymbolPackagePublish resource, else its flat container), stored beside the .nupkg')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be mirrored, what is already stored); write nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result of every file as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror;terraform-provider' {
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'A .terraform.lock.hcl: every provider it locks, at exactly the locked version, for the platforms whose zips its zh: hashes name (checked against them and, when every platform is mirrored, its h1: hashes)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every platform the registry lists for the version')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'Where to fetch from instead of the address''s host (registry.terraform.io when it names none); what is stored is still named by the address. HOST[:PORT] is a provider registry (found through its /.well-known/terraform.json); an https:// URL is a provider network mirror (HOSTNAME/NAMESPACE/TYPE/index.json under it, what `terraform providers mirror` writes), as in Terraform''s own CLI config. A network mirror signs nothing: each zip is checked against its h1:/zh: hashes (and --lock''s), and the version is stored unsigned')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--insecure-skip-signature', '--insecure-skip-signature', [CompletionResultType]::ParameterName, 'DANGEROUS: do not check SHA256SUMS''s OpenPGP signature against the registry''s keys (the zips are still checked against SHA256SUMS); the stored versions say they are unverified')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be mirrored, what is already stored); write nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result of every file as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror;terraform-module' {
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The module registry to fetch from (its /.well-known/terraform.json), instead of the address''s host (registry.terraform.io when it names none)')
            [CompletionResult]::new('--max-unpacked-size', '--max-unpacked-size', [CompletionResultType]::ParameterName, 'The most one module package may unpack to, e.g. 4GiB; a larger one is refused and nothing is stored')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be mirrored, what is already stored); write nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result of every module version as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror;terraform' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The configuration''s root module: its .tf files and the local modules it calls (./x, ../x) are read for required_providers, provider blocks, resources'' implied providers and registry module calls. Per provider, the newest version meeting every constraint in the tree is mirrored; a .terraform.lock.hcl there wins for the providers it locks')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every platform the registry lists for the version')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The provider registry to fetch every provider from (its /.well-known/terraform.json), instead of each address''s host (registry.terraform.io when it names none)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--insecure-skip-signature', '--insecure-skip-signature', [CompletionResultType]::ParameterName, 'DANGEROUS: do not check SHA256SUMS''s OpenPGP signature against the registry''s keys (the zips are still checked against SHA256SUMS); the stored versions say they are unverified')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (providers, registry modules, what would be mirrored); write nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the requirements found and the result of every file as JSON on stdout')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;mirror;help' {
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Mirror Terraform providers from a provider registry, signatures checked, every platform')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Mirror Terraform modules from a module registry: the whole package its download names (an https archive or a git repository), zipped in OpenTofu''s layout')
            [CompletionResult]::new('terraform', 'terraform', [CompletionResultType]::ParameterValue, 'Mirror the providers and registry modules a Terraform configuration requires, read from its .tf files')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;mirror;help;pypi' {
            break
        }
        'opp;mirror;help;rubygems' {
            break
        }
        'opp;mirror;help;nuget' {
            break
        }
        'opp;mirror;help;terraform-provider' {
            break
        }
        'opp;mirror;help;terraform-module' {
            break
        }
        'opp;mirror;help;terraform' {
            break
        }
        'opp;mirror;help;help' {
            break
        }
        'opp;proxy' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (default: a free one); the HTTPS listener''s when both are served')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Address to listen on (default: 127.0.0.1). Any address but loopback needs HTTPS: --http and --plain-http are refused with it. The certificate covers the address')
            [CompletionResult]::new('--ecosystems', '--ecosystems', [CompletionResultType]::ParameterName, 'Ecosystems to serve, comma-separated (e.g. pypi,terraform). Default: all of them')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'Package index to fall back to for PyPI names the store does not have (e.g. https://pypi.org/simple/)')
            [CompletionResult]::new('--module-host', '--module-host', [CompletionResultType]::ParameterName, 'Hostname Terraform module sources use to reach the proxy (it must resolve to 127.0.0.1; the proxy''s certificate covers it)')
            [CompletionResult]::new('--max-upload-size', '--max-upload-size', [CompletionResultType]::ParameterName, 'Largest package the proxy accepts in one upload (twine, gem push, nuget push), e.g. 512MiB or 2GB; a larger body is refused with HTTP 413 and nothing is stored')
            [CompletionResult]::new('--cache-ttl', '--cache-ttl', [CompletionResultType]::ParameterName, 'How long tag lists and tags read from a registry are reused (e.g. 5s, 500ms, 0 for never). Manifests and small blobs by digest never change and are always kept in memory (8 MiB at most). A push through the proxy is visible at once; one by others after at most this time')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'Serve every client plain HTTP on http://127.0.0.1:PORT. By default the proxy listens twice on loopback: plain HTTP for the clients that accept it there (pip, uv, twine, gem, bundler, nuget.exe), HTTPS on https://localhost:PORT for those that do not (terraform''s provider mirror, dotnet). The global --plain-http does the same for `opp proxy`, besides talking plain HTTP to the registry')
            [CompletionResult]::new('--https', '--https', [CompletionResultType]::ParameterName, 'Serve every client HTTPS on https://localhost:PORT, with a throwaway CA handed to the command (the bundle is in OPP_PROXY_CA_BUNDLE)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;login' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The username (asked for when not given)')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'The username (asked for when not given)')
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password (or token) from standard input, for scripts and CI')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;logout' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'opp;completions' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;man' {
            [CompletionResult]::new('--registry', '--registry', [CompletionResultType]::ParameterName, 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Local store directory (default: opp/store in the user''s data directory)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (default: opp/config.toml in the user''s config directory)')
            [CompletionResult]::new('--retry-timeout', '--retry-timeout', [CompletionResultType]::ParameterName, 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)')
            [CompletionResult]::new('--registry-config', '--registry-config', [CompletionResultType]::ParameterName, 'A docker-format config.json to read registry credentials from before docker''s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)')
            [CompletionResult]::new('--plain-http', '--plain-http', [CompletionResultType]::ParameterName, 'Talk plain HTTP to the registry (loopback hosts always do)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors and requested output; no progress bars')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'opp;help' {
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Push distribution files into the store or registry')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull a version''s files out of the store or registry')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List packages (of every ecosystem, or of one), or the versions of one package')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the files of one version')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Write a provider''s hashes for every stored platform into .terraform.lock.hcl')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy a version, with every blob it references, between stores and registries')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write packages of the store, with everything they reference, into one bundle file')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Load a bundle written by `opp export` into the store, verified')
            [CompletionResult]::new('mirror', 'mirror', [CompletionResultType]::ParameterValue, 'Bring packages and their dependencies from a public index into the store, verified')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Serve the store to pip, uv, twine, terraform and nuget in their own protocols on 127.0.0.1, and run a command pointed at it')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a registry: check a username and password with it, then save them')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove the saved credentials for a registry')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'opp;help;push' {
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Push Python wheels and sdists (files, or directories holding them)')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Push a Terraform provider release directory (goreleaser layout) as one version')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Push Ruby gems (.gem files, or directories holding them)')
            break
        }
        'opp;help;push;pypi' {
            break
        }
        'opp;help;push;terraform-provider' {
            break
        }
        'opp;help;push;terraform-module' {
            break
        }
        'opp;help;push;nuget' {
            break
        }
        'opp;help;push;rubygems' {
            break
        }
        'opp;help;pull' {
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Pull Python wheels and sdists')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Write a Terraform provider version into a filesystem mirror directory')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Unpack a Terraform module version into a directory')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Pull a NuGet package (.nupkg)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)')
            break
        }
        'opp;help;pull;pypi' {
            break
        }
        'opp;help;pull;terraform-provider' {
            break
        }
        'opp;help;pull;terraform-module' {
            break
        }
        'opp;help;pull;nuget' {
            break
        }
        'opp;help;pull;rubygems' {
            break
        }
        'opp;help;list' {
            break
        }
        'opp;help;show' {
            break
        }
        'opp;help;lock' {
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms')
            break
        }
        'opp;help;lock;terraform-provider' {
            break
        }
        'opp;help;copy' {
            break
        }
        'opp;help;export' {
            break
        }
        'opp;help;import' {
            break
        }
        'opp;help;mirror' {
            [CompletionResult]::new('pypi', 'pypi', [CompletionResultType]::ParameterValue, 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)')
            [CompletionResult]::new('rubygems', 'rubygems', [CompletionResultType]::ParameterValue, 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)')
            [CompletionResult]::new('nuget', 'nuget', [CompletionResultType]::ParameterValue, 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)')
            [CompletionResult]::new('terraform-provider', 'terraform-provider', [CompletionResultType]::ParameterValue, 'Mirror Terraform providers from a provider registry, signatures checked, every platform')
            [CompletionResult]::new('terraform-module', 'terraform-module', [CompletionResultType]::ParameterValue, 'Mirror Terraform modules from a module registry: the whole package its download names (an https archive or a git repository), zipped in OpenTofu''s layout')
            [CompletionResult]::new('terraform', 'terraform', [CompletionResultType]::ParameterValue, 'Mirror the providers and registry modules a Terraform configuration requires, read from its .tf files')
            break
        }
        'opp;help;mirror;pypi' {
            break
        }
        'opp;help;mirror;rubygems' {
            break
        }
        'opp;help;mirror;nuget' {
            break
        }
        'opp;help;mirror;terraform-provider' {
            break
        }
        'opp;help;mirror;terraform-module' {
            break
        }
        'opp;help;mirror;terraform' {
            break
        }
        'opp;help;proxy' {
            break
        }
        'opp;help;login' {
            break
        }
        'opp;help;logout' {
            break
        }
        'opp;help;completions' {
            break
        }
        'opp;help;man' {
            break
        }
        'opp;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

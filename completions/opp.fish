# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_opp_global_optspecs
    string join \n registry= store= plain-http q/quiet config= v/verbose retry-timeout= registry-config= h/help V/version
end

function __fish_opp_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_opp_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_opp_using_subcommand
    set -l cmd (__fish_opp_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c opp -n "__fish_opp_needs_command" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_needs_command" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_needs_command" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_needs_command" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_needs_command" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_needs_command" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_needs_command" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_needs_command" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_needs_command" -s V -l version -d 'Print version'
complete -c opp -n "__fish_opp_needs_command" -f -a "push" -d 'Push distribution files into the store or registry'
complete -c opp -n "__fish_opp_needs_command" -f -a "pull" -d 'Pull a version\'s files out of the store or registry'
complete -c opp -n "__fish_opp_needs_command" -f -a "list" -d 'List packages (of every ecosystem, or of one), or the versions of one package'
complete -c opp -n "__fish_opp_needs_command" -f -a "show" -d 'Show the files of one version'
complete -c opp -n "__fish_opp_needs_command" -f -a "lock" -d 'Write a provider\'s hashes for every stored platform into .terraform.lock.hcl'
complete -c opp -n "__fish_opp_needs_command" -f -a "copy" -d 'Copy a version, with every blob it references, between stores and registries'
complete -c opp -n "__fish_opp_needs_command" -f -a "export" -d 'Write packages of the store, with everything they reference, into one bundle file'
complete -c opp -n "__fish_opp_needs_command" -f -a "import" -d 'Load a bundle written by `opp export` into the store, verified'
complete -c opp -n "__fish_opp_needs_command" -f -a "mirror" -d 'Bring packages and their dependencies from a public index into the store, verified'
complete -c opp -n "__fish_opp_needs_command" -f -a "proxy" -d 'Serve the store to pip, uv, twine, terraform and nuget in their own protocols on 127.0.0.1, and run a command pointed at it'
complete -c opp -n "__fish_opp_needs_command" -f -a "login" -d 'Log in to a registry: check a username and password with it, then save them'
complete -c opp -n "__fish_opp_needs_command" -f -a "logout" -d 'Remove the saved credentials for a registry'
complete -c opp -n "__fish_opp_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c opp -n "__fish_opp_needs_command" -f -a "man" -d 'Write the man pages into a directory'
complete -c opp -n "__fish_opp_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "pypi" -d 'Push Python wheels and sdists (files, or directories holding them)'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "terraform-provider" -d 'Push a Terraform provider release directory (goreleaser layout) as one version'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "terraform-module" -d 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "nuget" -d 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "rubygems" -d 'Push Ruby gems (.gem files, or directories holding them)'
complete -c opp -n "__fish_opp_using_subcommand push; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l force -d 'Replace a stored file of the same name that has other bytes'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l json -d 'Print what was pushed as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from pypi" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l force -d 'Replace a stored file of the same name that has other bytes'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l json -d 'Print what was pushed as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-provider" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l force -d 'Replace a stored file of the same name that has other bytes'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l json -d 'Print what was pushed as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from terraform-module" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l force -d 'Replace a stored file of the same name that has other bytes'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l json -d 'Print what was pushed as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from nuget" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l force -d 'Replace a stored file of the same name that has other bytes'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l json -d 'Print what was pushed as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from rubygems" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from help" -f -a "pypi" -d 'Push Python wheels and sdists (files, or directories holding them)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from help" -f -a "terraform-provider" -d 'Push a Terraform provider release directory (goreleaser layout) as one version'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from help" -f -a "terraform-module" -d 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from help" -f -a "nuget" -d 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from help" -f -a "rubygems" -d 'Push Ruby gems (.gem files, or directories holding them)'
complete -c opp -n "__fish_opp_using_subcommand push; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "pypi" -d 'Pull Python wheels and sdists'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "terraform-provider" -d 'Write a Terraform provider version into a filesystem mirror directory'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "terraform-module" -d 'Unpack a Terraform module version into a directory'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "nuget" -d 'Pull a NuGet package (.nupkg)'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "rubygems" -d 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)'
complete -c opp -n "__fish_opp_using_subcommand pull; and not __fish_seen_subcommand_from pypi terraform-provider terraform-module nuget rubygems help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -s r -l requirement -d 'Also pull every requirement in FILE (pip\'s format: one per line, `#` comments, `--hash=sha256:...`; editable, URL and path lines are refused); repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -s o -l output -d 'Directory to write the files into' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l python-version -d 'Keep only files installable on this Python version (e.g. 3.11)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l platform -d 'Keep only files installable on this platform (e.g. manylinux_2_17_x86_64); repeatable' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l implementation -d 'Python implementation for the filter (cp, pp ...; default cp)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l abi -d 'ABI for the filter (e.g. cp311, abi3); repeatable' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l pre -d 'Allow pre-release versions'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l json -d 'Print what was written as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from pypi" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -s o -l output -d 'The mirror directory. The default, terraform.d/plugins, is one terraform searches by itself; otherwise pass it to `terraform init -plugin-dir DIR`' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l platform -d 'Platform to fetch, as OS_ARCH (e.g. linux_amd64); repeatable. Default: this machine\'s' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l hostname -d 'Registry hostname of the provider address the mirror serves (default: the address\'s own, registry.terraform.io when it names none)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l max-unpacked-size -d 'With --unpacked: the most one provider zip may unpack to, e.g. 4GiB; a zip that unpacks to more is refused and nothing is written' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l all-platforms -d 'Fetch every stored platform'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l unpacked -d 'Write the unpacked layout (HOST/NS/TYPE/VERSION/OS_ARCH/) instead of zips'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l json -d 'Print what was written as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-provider" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -s o -l output -d 'Directory to unpack the module into (created; must be empty unless --force)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l max-unpacked-size -d 'The most the module zip may unpack to, e.g. 4GiB; a zip that unpacks to more is refused and nothing is written' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l force -d 'Replace the contents of a non-empty output directory'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l json -d 'Print what was written as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from terraform-module" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -s o -l output -d 'Directory to write the .nupkg into' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l prerelease -l pre -d 'Allow pre-release versions (also --pre)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l json -d 'Print what was written as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from nuget" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -s o -l output -d 'Directory to write the gem into' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l platform -d 'The gem platform to pull (e.g. x86_64-linux, java); default: the plain `ruby` gem' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l pre -l prerelease -d 'Allow pre-release versions (also --prerelease)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l json -d 'Print what was written as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from rubygems" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from help" -f -a "pypi" -d 'Pull Python wheels and sdists'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from help" -f -a "terraform-provider" -d 'Write a Terraform provider version into a filesystem mirror directory'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from help" -f -a "terraform-module" -d 'Unpack a Terraform module version into a directory'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from help" -f -a "nuget" -d 'Pull a NuGet package (.nupkg)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from help" -f -a "rubygems" -d 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)'
complete -c opp -n "__fish_opp_using_subcommand pull; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand list" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand list" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand list" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand list" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand list" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand list" -l json -d 'Print JSON on stdout instead of a table'
complete -c opp -n "__fish_opp_using_subcommand list" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand list" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand list" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand show" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand show" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand show" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand show" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand show" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand show" -l json -d 'Print JSON on stdout instead of a table'
complete -c opp -n "__fish_opp_using_subcommand show" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand show" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand show" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -f -a "terraform-provider" -d 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms'
complete -c opp -n "__fish_opp_using_subcommand lock; and not __fish_seen_subcommand_from terraform-provider help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l lock-file -d 'The lock file to write or update' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l hostname -d 'Registry hostname of the provider address in the lock file (default: the address\'s own, registry.terraform.io when it names none)' -r
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l json -d 'Print the locked version and hashes as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from terraform-provider" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "terraform-provider" -d 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms'
complete -c opp -n "__fish_opp_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand copy" -l from -d 'Source: `local` (the local store), a store directory (starting with / or .), or a registry HOST[:PORT][/PREFIX]. Default: the configured store or registry' -r
complete -c opp -n "__fish_opp_using_subcommand copy" -l to -d 'Destination, in the same forms as --from' -r
complete -c opp -n "__fish_opp_using_subcommand copy" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand copy" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand copy" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand copy" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand copy" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand copy" -l json -d 'Print what was copied as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand copy" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand copy" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand copy" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand export" -s o -l output -d 'The bundle to write: a tar, zstd-compressed when the name ends in .zst (deps.tar.zst). Its opp-bundle.json is also written beside it, as FILE.opp-bundle.json' -r -F
complete -c opp -n "__fish_opp_using_subcommand export" -l since -d 'Leave out what this earlier bundle holds (a delta bundle)' -r -F
complete -c opp -n "__fish_opp_using_subcommand export" -l since-index -d 'As --since, from the earlier bundle\'s opp-bundle.json (written beside it on export)' -r -F
complete -c opp -n "__fish_opp_using_subcommand export" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand export" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand export" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand export" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand export" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand export" -l all -d 'Export every version of every package in the store'
complete -c opp -n "__fish_opp_using_subcommand export" -l json -d 'Print what was exported as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand export" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand export" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand export" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand import" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand import" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand import" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand import" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand import" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand import" -l dry-run -d 'Read and verify the whole bundle and report what would happen; write nothing'
complete -c opp -n "__fish_opp_using_subcommand import" -l force -d 'Replace files (and Terraform versions) the target holds with other bytes'
complete -c opp -n "__fish_opp_using_subcommand import" -l json -d 'Print the per-version report as JSON on stdout instead of a table'
complete -c opp -n "__fish_opp_using_subcommand import" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand import" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand import" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -f -a "pypi" -d 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -f -a "rubygems" -d 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -f -a "nuget" -d 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -f -a "terraform-provider" -d 'Mirror Terraform providers from a provider registry, signatures checked, every platform'
complete -c opp -n "__fish_opp_using_subcommand mirror; and not __fish_seen_subcommand_from pypi rubygems nuget terraform-provider help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -s r -l requirement -d 'A requirements file: pinned lines (NAME==VERSION, with --hash=sha256:... lines) are mirrored exactly, unpinned ones with their dependencies; repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l lock -d 'A lock file mirrored exactly, no resolution: PEP 751 pylock.toml, or uv.lock (every file it lists from an index; with targets, the wheels some target can install); repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -s c -l constraint -d 'A constraints file (NAME<SPECIFIER> lines) applied to every package it names; repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l upstream -d 'The simple index to mirror from (PEP 503 HTML or PEP 691 JSON). Default: `upstream` of [mirror.pypi] in the config file, else https://pypi.org/simple/. Credentials as pip finds them: https://USER:PASSWORD@HOST/..., else the host\'s ~/.netrc (NETRC) entry, else, for https://USER@HOST/..., the keyring entry of service HOST and user USER; never printed' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l python-version -d 'Mirror for this Python version (e.g. 3.12): markers, Requires-Python and wheel tags are checked against it; repeatable. Default: any' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l platform -d 'Mirror for this platform tag (e.g. manylinux_2_17_x86_64, macosx_11_0_arm64, win_amd64; Linux and macOS tags cover their older releases, as pip does); repeatable. Default: any' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l only-binary -d 'Wheels only, for :all: packages or the ones named (comma-separated), as pip\'s flag' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l no-binary -d 'Source distributions only, for :all: packages or the ones named, as pip\'s flag' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l all-files -d 'Every file of each chosen version, not only those for the targets'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l pre -d 'Allow pre-releases (a pinned pre-release is taken without it)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l no-stream -d 'Download every file into a temporary file before storing it. By default a wheel whose sha256, size and metadata the index states (PEP 691 JSON with PEP 658, as PyPI serves them) streams straight into the store'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l dry-run -d 'Print the plan (what would be mirrored, what is already stored); write nothing'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l json -d 'Print the result of every file as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from pypi" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l lock -d 'A Gemfile.lock mirrored exactly, no resolution: every gem of its GEM sections at the version and platform it pins, checked against its CHECKSUMS section where there is one; repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l platform -d 'Mirror for this platform (x86_64-linux, arm64-darwin, x64-mingw-ucrt, java, ruby): a version\'s platform gem where one runs there, else its plain gem; repeatable. Default: every file of each chosen version' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l ruby-version -d 'Mirror for this Ruby (X.Y or X.Y.Z): versions whose required_ruby_version excludes it are not chosen. Default: any Ruby' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l upstream -d 'The gem source to mirror from (its compact index, /info/NAME, and /gems/); credentials may be given as https://USER:PASSWORD@HOST/ and are never printed. Default: https://rubygems.org/, or with --lock the lock\'s own remote' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l pre -d 'Allow pre-releases (a requirement naming one allows them without it)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l dry-run -d 'Print the plan (what would be mirrored, what is already stored); write nothing'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l json -d 'Print the result of every file as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from rubygems" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l framework -d 'Mirror the dependencies this target framework needs (net8.0, net6.0, netstandard2.0, netcoreapp3.1, net48 ...), each package\'s nearest dependency group as NuGet chooses it; repeatable. Default: every dependency group' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l lock -d 'A packages.lock.json mirrored exactly, no resolution: every package version it names, checked against its contentHash (SHA-512); repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l project -d 'An SDK-style project (.csproj, .fsproj ...): its PackageReference items (versions from Directory.Packages.props for Central Package Management) with their dependencies, for its TargetFramework(s); repeatable' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l upstream -d 'The NuGet v3 feed to mirror from: its service index URL; credentials may be given as https://USER:TOKEN@HOST/... and are never printed' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l lowest -d 'A range on the command line mirrors its lowest match (as dependencies always do), not its newest'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l prerelease -d 'Allow pre-release versions (a pinned pre-release, or a range naming one, is taken without it)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l dry-run -d 'Print the plan (what would be mirrored, what is already stored); write nothing'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l json -d 'Print the result of every file as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from nuget" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l lock -d 'A .terraform.lock.hcl: every provider it locks, at exactly the locked version, for the platforms whose zips its zh: hashes name (checked against them and, when every platform is mirrored, its h1: hashes)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l platform -d 'Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every platform the registry lists for the version' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l upstream -d 'Where to fetch from instead of the address\'s host (registry.terraform.io when it names none); what is stored is still named by the address. HOST[:PORT] is a provider registry (found through its /.well-known/terraform.json); an https:// URL is a provider network mirror (HOSTNAME/NAMESPACE/TYPE/index.json under it, what `terraform providers mirror` writes), as in Terraform\'s own CLI config. A network mirror signs nothing: each zip is checked against its h1:/zh: hashes (and --lock\'s), and the version is stored unsigned' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l insecure-skip-signature -d 'DANGEROUS: do not check SHA256SUMS\'s OpenPGP signature against the registry\'s keys (the zips are still checked against SHA256SUMS); the stored versions say they are unverified'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l dry-run -d 'Print the plan (what would be mirrored, what is already stored); write nothing'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l json -d 'Print the result of every file as JSON on stdout'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from terraform-provider" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "pypi" -d 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "rubygems" -d 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "nuget" -d 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "terraform-provider" -d 'Mirror Terraform providers from a provider registry, signatures checked, every platform'
complete -c opp -n "__fish_opp_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand proxy" -l port -d 'Port to listen on (default: a free one); the HTTPS listener\'s when both are served' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l bind -d 'Address to listen on (default: 127.0.0.1). Any address but loopback needs HTTPS: --http and --plain-http are refused with it. The certificate covers the address' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l ecosystems -d 'Ecosystems to serve, comma-separated (e.g. pypi,terraform). Default: all of them' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l upstream -d 'Package index to fall back to for PyPI names the store does not have (e.g. https://pypi.org/simple/)' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l module-host -d 'Hostname Terraform module sources use to reach the proxy (it must resolve to 127.0.0.1; the proxy\'s certificate covers it)' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l max-upload-size -d 'Largest package the proxy accepts in one upload (twine, gem push, nuget push), e.g. 512MiB or 2GB; a larger body is refused with HTTP 413 and nothing is stored' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l cache-ttl -d 'How long tag lists and tags read from a registry are reused (e.g. 5s, 500ms, 0 for never). Manifests and small blobs by digest never change and are always kept in memory (8 MiB at most). A push through the proxy is visible at once; one by others after at most this time' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand proxy" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand proxy" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand proxy" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand proxy" -l http -d 'Serve every client plain HTTP on http://127.0.0.1:PORT. By default the proxy listens twice on loopback: plain HTTP for the clients that accept it there (pip, uv, twine, gem, bundler, nuget.exe), HTTPS on https://localhost:PORT for those that do not (terraform\'s provider mirror, dotnet). The global --plain-http does the same for `opp proxy`, besides talking plain HTTP to the registry'
complete -c opp -n "__fish_opp_using_subcommand proxy" -l https -d 'Serve every client HTTPS on https://localhost:PORT, with a throwaway CA handed to the command (the bundle is in OPP_PROXY_CA_BUNDLE)'
complete -c opp -n "__fish_opp_using_subcommand proxy" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand proxy" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand proxy" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand proxy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand login" -s u -l username -d 'The username (asked for when not given)' -r
complete -c opp -n "__fish_opp_using_subcommand login" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand login" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand login" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand login" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand login" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand login" -l password-stdin -d 'Read the password (or token) from standard input, for scripts and CI'
complete -c opp -n "__fish_opp_using_subcommand login" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand login" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand login" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand logout" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand logout" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand logout" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand logout" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand logout" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand logout" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand logout" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand logout" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c opp -n "__fish_opp_using_subcommand completions" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand completions" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand completions" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand completions" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand completions" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand completions" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand completions" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand completions" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand completions" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand man" -l registry -d 'Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses the local store' -r
complete -c opp -n "__fish_opp_using_subcommand man" -l store -d 'Local store directory (default: opp/store in the user\'s data directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand man" -l config -d 'Config file (default: opp/config.toml in the user\'s config directory)' -r -F
complete -c opp -n "__fish_opp_using_subcommand man" -l retry-timeout -d 'How long each registry step may keep retrying a busy registry (429, 5xx) or a broken connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or retry-timeout in config.toml)' -r
complete -c opp -n "__fish_opp_using_subcommand man" -l registry-config -d 'A docker-format config.json to read registry credentials from before docker\'s own (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD)' -r -F
complete -c opp -n "__fish_opp_using_subcommand man" -l plain-http -d 'Talk plain HTTP to the registry (loopback hosts always do)'
complete -c opp -n "__fish_opp_using_subcommand man" -s q -l quiet -d 'Print nothing but errors and requested output; no progress bars'
complete -c opp -n "__fish_opp_using_subcommand man" -s v -l verbose -d 'Log what opp does (requests, token exchanges) to stderr; credentials are never logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself'
complete -c opp -n "__fish_opp_using_subcommand man" -s h -l help -d 'Print help'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "push" -d 'Push distribution files into the store or registry'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "pull" -d 'Pull a version\'s files out of the store or registry'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "list" -d 'List packages (of every ecosystem, or of one), or the versions of one package'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "show" -d 'Show the files of one version'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "lock" -d 'Write a provider\'s hashes for every stored platform into .terraform.lock.hcl'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "copy" -d 'Copy a version, with every blob it references, between stores and registries'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "export" -d 'Write packages of the store, with everything they reference, into one bundle file'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "import" -d 'Load a bundle written by `opp export` into the store, verified'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "mirror" -d 'Bring packages and their dependencies from a public index into the store, verified'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "proxy" -d 'Serve the store to pip, uv, twine, terraform and nuget in their own protocols on 127.0.0.1, and run a command pointed at it'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "login" -d 'Log in to a registry: check a username and password with it, then save them'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "logout" -d 'Remove the saved credentials for a registry'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "man" -d 'Write the man pages into a directory'
complete -c opp -n "__fish_opp_using_subcommand help; and not __fish_seen_subcommand_from push pull list show lock copy export import mirror proxy login logout completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from push" -f -a "pypi" -d 'Push Python wheels and sdists (files, or directories holding them)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from push" -f -a "terraform-provider" -d 'Push a Terraform provider release directory (goreleaser layout) as one version'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from push" -f -a "terraform-module" -d 'Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from push" -f -a "nuget" -d 'Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from push" -f -a "rubygems" -d 'Push Ruby gems (.gem files, or directories holding them)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from pull" -f -a "pypi" -d 'Pull Python wheels and sdists'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from pull" -f -a "terraform-provider" -d 'Write a Terraform provider version into a filesystem mirror directory'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from pull" -f -a "terraform-module" -d 'Unpack a Terraform module version into a directory'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from pull" -f -a "nuget" -d 'Pull a NuGet package (.nupkg)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from pull" -f -a "rubygems" -d 'Pull a Ruby gem (the plain `ruby` gem, or the one for --platform)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from lock" -f -a "terraform-provider" -d 'Lock a Terraform provider version with the zh: and h1: hashes of all its platforms'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from mirror" -f -a "pypi" -d 'Mirror Python packages, with their dependencies, from a simple index (PyPI by default)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from mirror" -f -a "rubygems" -d 'Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by default)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from mirror" -f -a "nuget" -d 'Mirror NuGet packages, with their dependencies per target framework, from a v3 feed (nuget.org by default)'
complete -c opp -n "__fish_opp_using_subcommand help; and __fish_seen_subcommand_from mirror" -f -a "terraform-provider" -d 'Mirror Terraform providers from a provider registry, signatures checked, every platform'

// Command langhost is the lab's stand-in for pulumi-language-nodejs.
//
// The real language host is its own Go module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) and
// the module proxy here refuses every version of it (403), so it cannot be built. This host
// does the one job the engine needs from it: it runs the program through the SDK's own
// `@pulumi/pulumi/cmd/run` from the project's node_modules, exactly as the real host hands it
// over (flags, PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT), and it
// reports the provider plugins the project's node_modules declare. Everything else
// (`pulumi new`, `pulumi install`, policy packs, code generation) is left unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped by build.sh (-X main.version=...).
var version = "0.0.0-dev"

// bailExitCode is what the SDK's run script exits with after it already reported the error.
const bailExitCode = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func main() {
	engine := engineAddressFromArgs(os.Args[1:])
	h := &host{engineAddress: engine}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "langhost: cannot serve: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "langhost: stopped: %v\n", err)
		os.Exit(1)
	}
}

// engineAddressFromArgs returns the last positional argument; flags (-v=9, --logtostderr,
// --tracing URL, -root DIR) are accepted and ignored.
func engineAddressFromArgs(args []string) string {
	engine := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && (name == "tracing" || name == "root") && i+1 < len(args) {
				i++
			}
			continue
		}
		engine = a
	}
	return engine
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// nodePackage is the part of a package.json that says "this package needs a provider plugin".
type nodePackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// requiredPlugins walks programDir/node_modules (nested node_modules too) for packages that
// declare `"pulumi": {"resource": true}`.
func requiredPlugins(programDir string) ([]*pulumirpc.PluginDependency, error) {
	seen := map[string]bool{}
	var out []*pulumirpc.PluginDependency
	var walkModules func(dir string) error
	readPackage := func(pkgDir string) error {
		b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		var p nodePackage
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(pkgDir, "package.json"), err)
		}
		if p.Pulumi.Resource {
			name := p.Pulumi.Name
			if name == "" {
				name = strings.TrimPrefix(strings.TrimPrefix(p.Name, "@pulumi/"), "@")
			}
			v := p.Pulumi.Version
			if v == "" {
				v = p.Version
			}
			if !strings.HasPrefix(v, "v") {
				v = "v" + v
			}
			if key := name + "@" + v; !seen[key] {
				seen[key] = true
				out = append(out, &pulumirpc.PluginDependency{Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server})
			}
		}
		return walkModules(filepath.Join(pkgDir, "node_modules"))
	}
	walkModules = func(dir string) error {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if strings.HasPrefix(e.Name(), "@") {
				scoped, err := os.ReadDir(p)
				if err != nil {
					return err
				}
				for _, s := range scoped {
					if err := readPackage(filepath.Join(p, s.Name())); err != nil {
						return err
					}
				}
				continue
			}
			if err := readPackage(p); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walkModules(filepath.Join(programDir, "node_modules"))
}

func programDirOf(info *pulumirpc.ProgramInfo, pwd string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return pwd
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	plugins, err := requiredPlugins(programDirOf(req.GetInfo(), req.GetPwd())) //nolint:staticcheck
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, err
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	plugins, err := requiredPlugins(programDirOf(req.GetInfo(), ""))
	if err != nil {
		return nil, err
	}
	pkgs := make([]*pulumirpc.PackageDependency, 0, len(plugins))
	for _, p := range plugins {
		pkgs = append(pkgs, &pulumirpc.PackageDependency{Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// runScript finds @pulumi/pulumi/cmd/run in the nearest node_modules above dir.
func runScript(dir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		return p, nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no node_modules/@pulumi/pulumi above %s: run npm ci in the project", dir)
		}
	}
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	programDir := programDirOf(req.GetInfo(), req.GetPwd())
	run, err := runScript(programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	options := map[string]any{}
	if o := req.GetInfo().GetOptions(); o != nil {
		options = o.AsMap()
	}
	typescript := true
	if v, ok := options["typescript"].(bool); ok {
		typescript = v
	}
	var args []string
	if nodeargs, ok := options["nodeargs"].(string); ok {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, run)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", req.GetPwd())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", fmt.Sprint(req.GetParallel()))
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram() //nolint:staticcheck
	}
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secrets),
		fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", typescript),
	)
	if tsconfig, ok := options["tsconfig"].(string); ok && tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}

	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == bailExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

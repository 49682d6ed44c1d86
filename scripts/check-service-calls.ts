/**
 * `npm run deps:check`, after dependency-cruiser: no services call each other in a cycle. dependency-cruiser
 * sees imports; a call between services is a `createSubgraphCall({ service: '<callee>', ... })` (the kit), made
 * in the caller's code or in a function of another package the caller uses (the callee's client,
 * `@parley/<service>/client`, or `createMembershipRepair` of `@parley/membership`). This reads the call graph from the code
 * with the TypeScript compiler: for every non-test file of `subgraphs/<caller>/src` (and `router/src`), every
 * `createSubgraphCall` call's `service` literal, and every function it refers to, declared elsewhere, whose
 * body makes one (followed through the functions those refer to). It prints the graph, or fails naming the
 * cycle. A call whose callee is not a literal fails too: the graph would not be known.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One service calling another, and where (the first place found). */
export interface ServiceCall {
  from: string;
  to: string;
  /** `path:line` in the caller's code: its `createSubgraphCall`, or its use of a function that makes one. */
  by: string;
  /** The functions the call is made through, from the one the caller uses (none when it calls itself). */
  via: string[];
  /** `path:line` of the `createSubgraphCall`. */
  at: string;
}

export interface ServiceCallGraph {
  calls: ServiceCall[];
  /** Calls whose callee could not be read (not a literal, or the call factory passed around). */
  problems: string[];
}

const CALL_FACTORY = 'createSubgraphCall';

/** What code makes calls: each subgraph's `src`, and the router's. */
function callerDirectories(root: string): Array<{ service: string; dir: string }> {
  const subgraphs = join(root, 'subgraphs');
  const found = existsSync(subgraphs)
    ? readdirSync(subgraphs, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => ({ service: entry.name, dir: join(subgraphs, entry.name, 'src') }))
    : [];
  return [...found, { service: 'router', dir: join(root, 'router', 'src') }]
    .filter(({ dir }) => existsSync(dir))
    .sort((a, b) => a.service.localeCompare(b.service));
}

const isTestPath = (path: string) =>
  /\.(test|e2e)\.ts$/.test(path) || path.split(sep).some((part) => part === 'test' || part === 'generated');

function sourceFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !isTestPath(relative(dir, path)))
    .sort();
}

/** The repository's compiler options (tsconfig.base.json) when it has them; otherwise plain ESM ones. */
function compilerOptionsFor(root: string): ts.CompilerOptions {
  const base = join(root, 'tsconfig.base.json');
  if (existsSync(base)) {
    const { config, error } = ts.readConfigFile(base, (path) => ts.sys.readFile(path));
    if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
    return { ...ts.parseJsonConfigFileContent(config, ts.sys, root).options, noEmit: true };
  }
  return {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
  };
}

type FunctionLike = ts.FunctionLikeDeclaration & { body: ts.Node };

/** The function a declaration names, when it is one with a body (`function f`, `const f = () => …`, a method). */
function functionOf(declaration: ts.Declaration): FunctionLike | undefined {
  if (
    (ts.isFunctionDeclaration(declaration) || ts.isMethodDeclaration(declaration)) &&
    declaration.body !== undefined
  ) {
    return declaration as FunctionLike;
  }
  if (ts.isVariableDeclaration(declaration) && declaration.initializer) {
    const value = declaration.initializer;
    if (ts.isArrowFunction(value) || ts.isFunctionExpression(value)) return value as FunctionLike;
  }
  return undefined;
}

/**
 * The call graph between services under `root` (a repository, or a test's tree laid out like one): the calls
 * each caller's files make, and those made by functions declared elsewhere that they refer to. A service asking
 * itself (its own client) is no call between services and is left out.
 */
export function serviceCallGraph(root: string): ServiceCallGraph {
  const callers = callerDirectories(root).map(({ service, dir }) => ({
    service,
    files: sourceFilesUnder(dir),
  }));
  const program = ts.createProgram({
    rootNames: callers.flatMap(({ files }) => files),
    options: compilerOptionsFor(root),
  });
  const checker = program.getTypeChecker();
  const problems: string[] = [];
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    return `${relative(root, file.fileName).split(sep).join('/')}:${line + 1}`;
  };
  const inProject = (node: ts.Node) => {
    const file = node.getSourceFile();
    return !file.isDeclarationFile && !file.fileName.split(/[\\/]/).includes('node_modules');
  };
  const resolve = (identifier: ts.Identifier): ts.Symbol | undefined => {
    const symbol = ts.isShorthandPropertyAssignment(identifier.parent)
      ? checker.getShorthandAssignmentValueSymbol(identifier.parent)
      : checker.getSymbolAtLocation(identifier);
    if (!symbol) return undefined;
    return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  };
  const isCallFactory = (identifier: ts.Identifier, symbol: ts.Symbol | undefined) =>
    symbol
      ? symbol.name === CALL_FACTORY && (symbol.declarations ?? []).some(ts.isFunctionDeclaration)
      : identifier.text === CALL_FACTORY;

  /** The `service` of a `createSubgraphCall(...)`: a string literal, or a problem. */
  function calleeOf(call: ts.CallExpression): string | undefined {
    const [options] = call.arguments;
    if (options && ts.isObjectLiteralExpression(options)) {
      for (const property of options.properties) {
        if (
          ts.isPropertyAssignment(property) &&
          property.name.getText() === 'service' &&
          ts.isStringLiteralLike(property.initializer)
        ) {
          return property.initializer.text;
        }
      }
    }
    const property = options && checker.getTypeAtLocation(options).getProperty('service');
    const type = property && options && checker.getTypeOfSymbolAtLocation(property, options);
    if (type?.isStringLiteral()) return type.value;
    problems.push(
      `${where(call)}: ${CALL_FACTORY}'s service is not a literal (${type ? checker.typeToString(type) : 'unknown'}): write the callee's name`,
    );
    return undefined;
  }

  type Reached = Omit<ServiceCall, 'from'>;
  const reachedByFunction = new Map<ts.Node, Reached[]>();
  /** Functions being read: one referring back to them (recursion) is not read again. */
  const reading = new Set<ts.Node>();
  /** Whether a function read since the last look referred back to one being read (its answer then lacks it). */
  let cutShort = false;
  const NONE: ReadonlySet<string> = new Set();

  /**
   * The calls made under `node`: by its own `createSubgraphCall`s and by the functions it refers to, but for
   * those declared in `ownFiles` (a caller's files, each read on its own).
   */
  function callsUnder(node: ts.Node, ownFiles: ReadonlySet<string>): Reached[] {
    const reached: Reached[] = [];
    const visit = (child: ts.Node) => {
      // Imports name what the code uses (the uses are read); types are never called.
      if (ts.isImportDeclaration(child) || ts.isExportDeclaration(child) || ts.isTypeNode(child)) return;
      if (ts.isTypeAliasDeclaration(child) || ts.isInterfaceDeclaration(child)) return;
      if (ts.isIdentifier(child)) {
        const symbol = resolve(child);
        if (isCallFactory(child, symbol)) {
          const parent = child.parent;
          if (ts.isCallExpression(parent) && parent.expression === child) {
            const to = calleeOf(parent);
            if (to) reached.push({ to, by: where(parent), via: [], at: where(parent) });
          } else if (!ts.isFunctionDeclaration(parent)) {
            problems.push(
              `${where(child)}: ${CALL_FACTORY} used other than called: its callee cannot be read`,
            );
          }
          return;
        }
        for (const declaration of symbol?.declarations ?? []) {
          const fn = functionOf(declaration);
          if (!fn || !inProject(fn) || isWithin(child, fn) || ownFiles.has(fn.getSourceFile().fileName))
            continue;
          for (const call of callsOfFunction(fn)) {
            reached.push({ ...call, by: where(child), via: [child.text, ...call.via] });
          }
        }
        return;
      }
      ts.forEachChild(child, visit);
    };
    ts.forEachChild(node, visit);
    return reached;
  }

  function callsOfFunction(fn: FunctionLike): Reached[] {
    const known = reachedByFunction.get(fn);
    if (known) return known;
    if (reading.has(fn)) {
      cutShort = true;
      return [];
    }
    reading.add(fn);
    const outer = cutShort;
    cutShort = false;
    const reached = callsUnder(fn.body, NONE);
    reading.delete(fn);
    // Kept only when complete: within a recursion, only the outermost function's answer is (it is read last).
    if (!cutShort || reading.size === 0) reachedByFunction.set(fn, reached);
    cutShort ||= outer;
    if (reading.size === 0) cutShort = false;
    return reached;
  }

  const calls = new Map<string, ServiceCall>();
  for (const { service, files } of callers) {
    const ownFiles = new Set(files);
    for (const fileName of files) {
      const file = program.getSourceFile(fileName);
      if (!file) continue;
      for (const call of callsUnder(file, ownFiles)) {
        if (call.to === service) continue;
        const key = `${service}\n${call.to}`;
        if (!calls.has(key)) calls.set(key, { from: service, ...call });
      }
    }
  }
  const sorted = [...calls.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  return { calls: sorted, problems: [...new Set(problems)].sort() };
}

function isWithin(node: ts.Node, ancestor: ts.Node): boolean {
  for (let current: ts.Node | undefined = node; current; current = current.parent) {
    if (current === ancestor) return true;
  }
  return false;
}

/** A cycle of services calling each other (`['users', 'conversations', 'users']`), or undefined when none. */
export function findCycle(calls: ReadonlyArray<Pick<ServiceCall, 'from' | 'to'>>): string[] | undefined {
  const callees = new Map<string, string[]>();
  for (const { from, to } of calls) callees.set(from, [...(callees.get(from) ?? []), to].sort());
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (service: string): string[] | undefined => {
    const at = path.indexOf(service);
    if (at >= 0) return [...path.slice(at), service];
    if (done.has(service)) return undefined;
    path.push(service);
    for (const callee of callees.get(service) ?? []) {
      const cycle = visit(callee);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(service);
    return undefined;
  };
  for (const service of [...callees.keys()].sort()) {
    const cycle = visit(service);
    if (cycle) return cycle;
  }
  return undefined;
}

const describeCall = (call: ServiceCall) =>
  `${call.from} → ${call.to}  (${call.by}${call.via.length ? `: ${call.via.join(' → ')}, at ${call.at}` : ''})`;

/** What `npm run deps:check` prints: the graph, then the verdict; `ok` false on a cycle or an unreadable call. */
export function checkServiceCalls({ calls, problems }: ServiceCallGraph): { ok: boolean; report: string } {
  const lines = ['Calls between services:', ...calls.map((call) => `  ${describeCall(call)}`)];
  if (problems.length > 0) {
    lines.push('', 'Calls whose callee cannot be read:', ...problems.map((problem) => `  ${problem}`));
  }
  const cycle = findCycle(calls);
  if (cycle) {
    const steps = cycle
      .slice(1)
      .map((to, index) => calls.find((call) => call.from === cycle[index] && call.to === to)!);
    lines.push(
      '',
      `✘ services call each other in a cycle: ${cycle.join(' → ')}`,
      ...steps.map((call) => `  ${describeCall(call)}`),
      'One side must stop asking: keep what it needs in its own records, fed by the other’s events.',
    );
  } else if (problems.length === 0) {
    lines.push('', '✔ no cycle of calls between services');
  }
  return { ok: !cycle && problems.length === 0, report: lines.join('\n') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ok, report } = checkServiceCalls(serviceCallGraph(fileURLToPath(new URL('..', import.meta.url))));
  (ok ? console.log : console.error)(report);
  process.exitCode = ok ? 0 : 1;
}

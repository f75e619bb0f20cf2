/**
 * Builds the client SDK as published (`event-router/client`), into client/dist by default:
 *
 * - `index.js`: one ESM file (esbuild) for a neutral platform, the few core modules it uses bundled in;
 * - `index.d.ts`: tsc's declarations (client/tsconfig.build.json: strict, no Node types, DOM and ES libs only), with
 *   the core types they name (the envelope) copied in, so that the file stands alone: it imports nothing, and resolves
 *   the same under every `moduleResolution` a consumer may use.
 *
 *   npm run build:client                 → client/dist
 *   npx tsx client/build.ts <out dir>    → elsewhere (the package spec builds into a temporary directory)
 *
 * Copying the declarations in is a small declaration bundler for this module's case: named imports and re-exports
 * of local modules. Anything else (a default or namespace import, an alias, `export *`, two declarations of one
 * name) stops the build with an error rather than emit a file that resolves differently.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import ts from 'typescript';

const CLIENT_DIR = path.dirname(fileURLToPath(import.meta.url));
const ENTRY = path.join(CLIENT_DIR, 'index.ts');
const TSCONFIG = path.join(CLIENT_DIR, 'tsconfig.build.json');

export interface ClientBuild {
  readonly js: string;
  readonly dts: string;
  /** esbuild's inputs and outputs for the JavaScript. */
  readonly metafile: Metafile;
}

export async function buildClient(outDir = path.join(CLIENT_DIR, 'dist')): Promise<ClientBuild> {
  const js = path.join(outDir, 'index.js');
  const dts = path.join(outDir, 'index.d.ts');
  const declarations = emitDeclarations();
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outfile: js,
    metafile: true,
    logLevel: 'warning',
  });
  await mkdir(outDir, { recursive: true });
  await writeFile(dts, declarations);
  return { js, dts, metafile: result.metafile };
}

/** Type-checks the client on its own (tsc's diagnostics fail the build) and returns its single-file declarations. */
function emitDeclarations(): string {
  const config = ts.getParsedCommandLineOfConfigFile(TSCONFIG, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error(`cannot read ${TSCONFIG}`);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const emitted = new Map<string, string>();
  const result = program.emit(
    undefined,
    (file, text) => emitted.set(path.resolve(file), text),
    undefined,
    true,
  );
  const diagnostics = [...config.errors, ...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (diagnostics.length > 0) {
    throw new Error(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => process.cwd(),
        getNewLine: () => '\n',
      }),
    );
  }
  return bundleDeclarations(ENTRY, emitted, config.options);
}

interface DeclarationModule {
  readonly source: string;
  readonly file: ts.SourceFile;
  /** Top-level declarations by name (several for merged declarations or overloads). */
  readonly declarations: Map<string, ts.Statement[]>;
  /** Local names imported from other local modules: the module's source path. */
  readonly imports: Map<string, string>;
}

/**
 * The entry's declarations with those it imports from local modules (and theirs, transitively) copied in, without
 * their `export`: only what the entry exports is exported.
 */
function bundleDeclarations(
  entry: string,
  emitted: Map<string, string>,
  options: ts.CompilerOptions,
): string {
  const modules = new Map<string, DeclarationModule>();
  const load = (source: string): DeclarationModule => {
    const known = modules.get(source);
    if (known) return known;
    const dtsPath = source.replace(/\.tsx?$/, '.d.ts');
    const text = emitted.get(dtsPath);
    if (text === undefined) throw new Error(`no declarations emitted for ${source}`);
    const file = ts.createSourceFile(dtsPath, text, ts.ScriptTarget.Latest, true);
    const declarations = new Map<string, ts.Statement[]>();
    const imports = new Map<string, string>();
    for (const statement of file.statements) {
      for (const name of declaredNames(statement)) {
        declarations.set(name, [...(declarations.get(name) ?? []), statement]);
      }
      const local = localImport(statement, source, options);
      if (local) for (const name of local.names) imports.set(name, local.from);
    }
    const module = { source, file, declarations, imports };
    modules.set(source, module);
    return module;
  };

  const root = load(entry);
  const body: string[] = [];
  const exported: string[] = [];
  const copied: string[] = [];
  const owner = new Map<string, string>();
  for (const name of root.declarations.keys()) owner.set(name, entry);
  const included = new Set<ts.Statement>();

  const copy = (source: string, name: string) => {
    const module = load(source);
    const from = module.imports.get(name);
    if (from !== undefined) {
      copy(from, name);
      return;
    }
    const previous = owner.get(name);
    if (previous !== undefined && previous !== source) {
      throw new Error(`${name} is declared in both ${relative(previous)} and ${relative(source)}`);
    }
    owner.set(name, source);
    const statements = module.declarations.get(name);
    if (!statements) throw new Error(`${relative(source)} declares no ${name}`);
    for (const statement of statements) {
      if (included.has(statement)) continue;
      included.add(statement);
      copied.push(withoutExport(statement, module.file));
      for (const reference of identifiers(statement)) {
        if (reference !== name && (module.declarations.has(reference) || module.imports.has(reference))) {
          copy(source, reference);
        }
      }
    }
  };

  for (const statement of root.file.statements) {
    const local = localImport(statement, entry, options);
    if (!local) {
      body.push(statement.getFullText(root.file).replace(/^\n+/, ''));
      continue;
    }
    for (const name of local.names) copy(local.from, name);
    if (local.reexport)
      exported.push(`export ${local.reexport === 'type' ? 'type ' : ''}{ ${local.names.join(', ')} };`);
  }

  return [
    `// event-router/client: generated by client/build.ts from client/index.ts. Do not edit.`,
    ...body,
    ...copied,
    // An export declaration also keeps the copied declarations (which have no `export`) out of the module's exports.
    ...(exported.length > 0 ? exported : ['export {};']),
    '',
  ].join('\n');
}

/** A named import or re-export from a local module (a relative specifier), or undefined for any other statement. */
function localImport(
  statement: ts.Statement,
  containing: string,
  options: ts.CompilerOptions,
): { from: string; names: string[]; reexport?: 'type' | 'value' } | undefined {
  const isImport = ts.isImportDeclaration(statement);
  if (!isImport && !ts.isExportDeclaration(statement)) return undefined;
  const specifier = statement.moduleSpecifier;
  if (!specifier || !ts.isStringLiteral(specifier)) return undefined;
  if (!specifier.text.startsWith('.')) {
    throw new Error(`${relative(containing)}: the declarations would import ${specifier.text}`);
  }
  const resolved = ts.resolveModuleName(specifier.text, containing, options, ts.sys).resolvedModule;
  if (!resolved) throw new Error(`${relative(containing)}: cannot resolve ${specifier.text}`);
  const from = path.resolve(resolved.resolvedFileName);
  const unsupported = `${relative(containing)}: unsupported form of ${statement.getText()}`;
  const elements = isImport
    ? statement.importClause?.name === undefined &&
      statement.importClause?.namedBindings &&
      ts.isNamedImports(statement.importClause.namedBindings)
      ? statement.importClause.namedBindings.elements
      : undefined
    : statement.exportClause && ts.isNamedExports(statement.exportClause)
      ? statement.exportClause.elements
      : undefined;
  if (!elements || elements.some((e) => e.propertyName !== undefined)) throw new Error(unsupported);
  const names = elements.map((e) => e.name.text);
  if (isImport) return { from, names };
  return { from, names, reexport: statement.isTypeOnly ? 'type' : 'value' };
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((d) =>
      ts.isIdentifier(d.name) ? [d.name.text] : [],
    );
  }
  if (
    (ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isFunctionDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isModuleDeclaration(statement)) &&
    statement.name &&
    ts.isIdentifier(statement.name)
  ) {
    return [statement.name.text];
  }
  return [];
}

/** Every identifier in a statement (property names too: at worst an unused declaration is copied). */
function identifiers(node: ts.Node, found = new Set<string>()): Set<string> {
  if (ts.isIdentifier(node)) found.add(node.text);
  ts.forEachChild(node, (child) => {
    identifiers(child, found);
  });
  return found;
}

/** The statement's text, its JSDoc kept, without `export`. */
function withoutExport(statement: ts.Statement, file: ts.SourceFile): string {
  const modifiers = ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : [];
  if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) {
    throw new Error(`${file.fileName}: cannot copy a default export`);
  }
  const text = file.text.slice(statement.pos, statement.end);
  const keyword = modifiers.find((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const stripped = keyword
    ? text.slice(0, keyword.getStart(file) - statement.pos) +
      text.slice(keyword.end - statement.pos).replace(/^\s+/, '')
    : text;
  return stripped.replace(/^\n+/, '');
}

const relative = (file: string) => path.relative(path.dirname(CLIENT_DIR), file);

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { js, dts } = await buildClient(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`${path.relative(process.cwd(), js)}\n${path.relative(process.cwd(), dts)}`);
}

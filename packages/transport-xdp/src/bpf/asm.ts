/**
 * A small eBPF assembler: just the instructions the XDP program needs, with
 * named labels resolved at the end. Encoding per the kernel's
 * Documentation/bpf/standardization/instruction-set.rst: 8 bytes per
 * instruction — opcode, dst (low nibble) / src (high nibble), s16 offset,
 * s32 immediate — little-endian; a 64-bit immediate load takes two slots.
 */

export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0: Reg = 0;
export const R1: Reg = 1;
export const R2: Reg = 2;
export const R3: Reg = 3;
export const R4: Reg = 4;
export const R5: Reg = 5;
export const R6: Reg = 6;
export const R7: Reg = 7;
export const R8: Reg = 8;
export const R9: Reg = 9;
export const R10: Reg = 10;

// Instruction classes, sizes, modes and operations (include/uapi/linux/bpf_common.h, bpf.h).
const BPF_LD = 0x00;
const BPF_LDX = 0x01;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_ALU64 = 0x07;
const BPF_W = 0x00;
const BPF_H = 0x08;
const BPF_B = 0x10;
const BPF_DW = 0x18;
const BPF_IMM = 0x00;
const BPF_MEM = 0x60;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_TO_BE = 0x08;
const BPF_PSEUDO_MAP_FD = 1;

const ALU = { add: 0x00, sub: 0x10, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, mov: 0xb0, end: 0xd0 } as const;
const JMP = { ja: 0x00, jeq: 0x10, jgt: 0x20, jge: 0x30, jne: 0x50, call: 0x80, exit: 0x90, jlt: 0xa0, jle: 0xb0 } as const;
const SIZE = { b: BPF_B, h: BPF_H, w: BPF_W, dw: BPF_DW } as const;

export type AluOp = 'add' | 'sub' | 'or' | 'and' | 'lsh' | 'rsh' | 'mov';
export type JmpOp = 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle';
export type Size = keyof typeof SIZE;

interface Insn {
  code: number;
  dst: Reg;
  src: number;
  off: number;
  imm: number;
  /** Label whose position becomes `off` (jumps). */
  target?: string;
}

export class BpfAsm {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();

  /** Current instruction index (a ld_imm64 counts as two). */
  get pc(): number {
    return this.insns.length;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`bpf asm: label '${name}' defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  /** dst = dst OP imm (64-bit). */
  aluImm(op: AluOp, dst: Reg, imm: number): this {
    return this.emit(BPF_ALU64 | ALU[op] | BPF_K, dst, 0, 0, checkImm(imm));
  }

  /** dst = dst OP src (64-bit). */
  aluReg(op: AluOp, dst: Reg, src: Reg): this {
    return this.emit(BPF_ALU64 | ALU[op] | BPF_X, dst, src, 0, 0);
  }

  movImm(dst: Reg, imm: number): this {
    return this.aluImm('mov', dst, imm);
  }

  mov(dst: Reg, src: Reg): this {
    return this.aluReg('mov', dst, src);
  }

  /** dst = the low `bits` of dst converted from host (little-endian) to big-endian. */
  be(dst: Reg, bits: 16 | 32 | 64): this {
    return this.emit(BPF_ALU | ALU.end | BPF_TO_BE, dst, 0, 0, bits);
  }

  /** dst = *(size *)(src + off). */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this {
    return this.emit(BPF_LDX | SIZE[size] | BPF_MEM, dst, src, checkOff(off), 0);
  }

  /** if (dst OP imm) goto label. */
  jmpImm(op: JmpOp, dst: Reg, imm: number, label: string): this {
    return this.emit(BPF_JMP | JMP[op] | BPF_K, dst, 0, 0, checkImm(imm), label);
  }

  /** if (dst OP src) goto label. */
  jmpReg(op: JmpOp, dst: Reg, src: Reg, label: string): this {
    return this.emit(BPF_JMP | JMP[op] | BPF_X, dst, src, 0, 0, label);
  }

  ja(label: string): this {
    return this.emit(BPF_JMP | JMP.ja, 0, 0, 0, 0, label);
  }

  /** dst = the map behind fd (ld_imm64 with BPF_PSEUDO_MAP_FD; two slots). */
  ldMapFd(dst: Reg, fd: number): this {
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new Error(`bpf asm: map fd ${fd} is not a valid fd`);
    this.emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    return this.emit(0, 0, 0, 0, 0); // upper 32 bits of the immediate
  }

  call(helper: number): this {
    return this.emit(BPF_JMP | JMP.call, 0, 0, 0, checkImm(helper));
  }

  exit(): this {
    return this.emit(BPF_JMP | JMP.exit, 0, 0, 0, 0);
  }

  /** The program as bytes for BPF_PROG_LOAD, labels resolved. */
  assemble(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, pc) => {
      let off = insn.off;
      if (insn.target !== undefined) {
        const at = this.labels.get(insn.target);
        if (at === undefined) throw new Error(`bpf asm: undefined label '${insn.target}' at pc ${pc}`);
        off = at - (pc + 1); // relative to the next instruction
        checkOff(off);
      }
      const o = pc * 8;
      out.writeUInt8(insn.code, o);
      out.writeUInt8((insn.src << 4) | insn.dst, o + 1);
      out.writeInt16LE(off, o + 2);
      out.writeInt32LE(insn.imm, o + 4);
    });
    return out;
  }

  private emit(code: number, dst: Reg, src: number, off: number, imm: number, target?: string): this {
    const insn: Insn = { code, dst, src, off, imm };
    if (target !== undefined) insn.target = target;
    this.insns.push(insn);
    return this;
  }
}

function checkImm(v: number): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new Error(`bpf asm: immediate ${v} does not fit 32 bits`);
  return v > 0x7fffffff ? v - 0x100000000 : v;
}

function checkOff(v: number): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new Error(`bpf asm: offset ${v} does not fit 16 bits`);
  return v;
}

/** Byte-swaps a 16-bit value: a big-endian field as a little-endian load sees it. */
export function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

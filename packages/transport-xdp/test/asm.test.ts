import { describe, expect, it } from 'vitest';
import { BpfAsm, R0, R1, R2, R3, swap16 } from '../src/bpf/asm.js';
import { buildXdpProgram, MAX_PORTS } from '../src/bpf/program.js';

/** [code, regs, off, imm] of instruction i. */
function insn(buf: Buffer, i: number): [number, number, number, number] {
  return [buf.readUInt8(i * 8), buf.readUInt8(i * 8 + 1), buf.readInt16LE(i * 8 + 2), buf.readInt32LE(i * 8 + 4)];
}

describe('BpfAsm encoding', () => {
  it('encodes ALU, loads, jumps and exit as the kernel instruction set defines them', () => {
    const a = new BpfAsm();
    a.movImm(R0, 2) // 0xb7: ALU64 | MOV | K
      .mov(R2, R1) // 0xbf: ALU64 | MOV | X, src in the high nibble
      .ldx('w', R3, R1, 4) // 0x61: LDX | W | MEM
      .ldx('h', R3, R2, 12) // 0x69
      .ldx('b', R3, R2, 23) // 0x71
      .aluImm('add', R2, 14) // 0x07
      .aluImm('and', R3, 0x0f) // 0x57
      .aluImm('lsh', R3, 2) // 0x67
      .aluImm('rsh', R3, 4) // 0x77
      .aluReg('add', R2, R3) // 0x0f
      .be(R3, 16) // 0xdc: ALU | END | TO_BE
      .call(51) // 0x85
      .exit(); // 0x95
    const b = a.assemble();
    expect(b.length).toBe(13 * 8);
    expect(insn(b, 0)).toEqual([0xb7, 0x00, 0, 2]);
    expect(insn(b, 1)).toEqual([0xbf, 0x12, 0, 0]);
    expect(insn(b, 2)).toEqual([0x61, 0x13, 4, 0]);
    expect(insn(b, 3)).toEqual([0x69, 0x23, 12, 0]);
    expect(insn(b, 4)).toEqual([0x71, 0x23, 23, 0]);
    expect(insn(b, 5)).toEqual([0x07, 0x02, 0, 14]);
    expect(insn(b, 6)).toEqual([0x57, 0x03, 0, 15]);
    expect(insn(b, 7)).toEqual([0x67, 0x03, 0, 2]);
    expect(insn(b, 8)).toEqual([0x77, 0x03, 0, 4]);
    expect(insn(b, 9)).toEqual([0x0f, 0x32, 0, 0]);
    expect(insn(b, 10)).toEqual([0xdc, 0x03, 0, 16]);
    expect(insn(b, 11)).toEqual([0x85, 0x00, 0, 51]);
    expect(insn(b, 12)).toEqual([0x95, 0x00, 0, 0]);
  });

  it('resolves labels forwards and backwards relative to the next instruction', () => {
    const a = new BpfAsm();
    a.label('top'); // pc 0
    a.jmpImm('jeq', R1, 7, 'out'); // pc 0 -> 3: off 2
    a.jmpReg('jgt', R2, R3, 'top'); // pc 1 -> 0: off -2
    a.ja('out'); // pc 2 -> 3: off 0
    a.label('out').exit();
    const b = a.assemble();
    expect(insn(b, 0)).toEqual([0x15, 0x01, 2, 7]);
    expect(insn(b, 1)).toEqual([0x2d, 0x32, -2, 0]);
    expect(insn(b, 2)).toEqual([0x05, 0x00, 0, 0]);
  });

  it('emits a map fd load as two slots with BPF_PSEUDO_MAP_FD', () => {
    const b = new BpfAsm().ldMapFd(R1, 9).exit().assemble();
    expect(insn(b, 0)).toEqual([0x18, 0x11, 0, 9]);
    expect(insn(b, 1)).toEqual([0, 0, 0, 0]);
  });

  it('rejects undefined or duplicate labels and out-of-range immediates', () => {
    expect(() => new BpfAsm().ja('nowhere').assemble()).toThrow(/undefined label 'nowhere'/);
    expect(() => new BpfAsm().label('x').label('x')).toThrow(/defined twice/);
    expect(() => new BpfAsm().movImm(R0, 2 ** 33)).toThrow(/32 bits/);
    expect(() => new BpfAsm().ldx('w', R0, R1, 40000)).toThrow(/16 bits/);
  });

  it('swap16 gives the little-endian view of a big-endian field', () => {
    expect(swap16(0x0800)).toBe(0x0008);
    expect(swap16(0x86dd)).toBe(0xdd86);
    expect(swap16(4433)).toBe(0x5111);
  });
});

describe('buildXdpProgram', () => {
  it('ends in exits only and references the map fd once', () => {
    const b = buildXdpProgram({ ports: [4433], xsksMapFd: 42 });
    const n = b.length / 8;
    expect(insn(b, n - 1)[0]).toBe(0x95);
    const mapLoads = Array.from({ length: n }, (_, i) => insn(b, i)).filter(([code, regs]) => code === 0x18 && regs >> 4 === 1);
    expect(mapLoads).toEqual([[0x18, 0x11, 0, 42]]);
  });

  it('grows by one compare per extra port and checks its arguments', () => {
    const one = buildXdpProgram({ ports: [1], xsksMapFd: 3 }).length;
    const three = buildXdpProgram({ ports: [1, 2, 3], xsksMapFd: 3 }).length;
    expect(three - one).toBe(2 * 8);
    expect(buildXdpProgram({ ports: [5, 5], xsksMapFd: 3 }).length).toBe(one); // duplicates collapse
    expect(() => buildXdpProgram({ ports: [], xsksMapFd: 3 })).toThrow(/1\.\.16 ports/);
    expect(() => buildXdpProgram({ ports: Array.from({ length: MAX_PORTS + 1 }, (_, i) => i + 1), xsksMapFd: 3 })).toThrow();
    expect(() => buildXdpProgram({ ports: [70000], xsksMapFd: 3 })).toThrow(/not in 1\.\.65535/);
  });
});

/* The stack walker's bitcode (bpf/ustack.bc, built from bpf/ustack.bpf.c), embedded. */
	.section .rodata
	.globl sonde_ustack_bc
	.globl sonde_ustack_bc_end
	.balign 16
sonde_ustack_bc:
	.incbin "bpf/ustack.bc"
sonde_ustack_bc_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits

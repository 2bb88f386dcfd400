// Behavioural models of the hwsim45 standard cells (hwsim/data/cells/hwsim45.lib),
// written from the cell functions of that liberty file, for simulating gate-level
// netlists mapped onto it (Verilator, for activity-based energy). No delays: every
// combinational output follows its inputs in zero time, flip-flops sample on the rising
// clock edge, DFFR_X1 clears asynchronously while RN is low.
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */

module INV_X1 (input A, output ZN);
  assign ZN = ~A;
endmodule

module BUF_X1 (input A, output Z);
  assign Z = A;
endmodule

module NAND2_X1 (input A1, input A2, output ZN);
  assign ZN = ~(A1 & A2);
endmodule

module NAND3_X1 (input A1, input A2, input A3, output ZN);
  assign ZN = ~(A1 & A2 & A3);
endmodule

module NOR2_X1 (input A1, input A2, output ZN);
  assign ZN = ~(A1 | A2);
endmodule

module NOR3_X1 (input A1, input A2, input A3, output ZN);
  assign ZN = ~(A1 | A2 | A3);
endmodule

module AND2_X1 (input A1, input A2, output ZN);
  assign ZN = A1 & A2;
endmodule

module OR2_X1 (input A1, input A2, output ZN);
  assign ZN = A1 | A2;
endmodule

module XOR2_X1 (input A, input B, output Z);
  assign Z = A ^ B;
endmodule

module XNOR2_X1 (input A, input B, output ZN);
  assign ZN = ~(A ^ B);
endmodule

module AOI21_X1 (input A, input B1, input B2, output ZN);
  assign ZN = ~(A | (B1 & B2));
endmodule

module OAI21_X1 (input A, input B1, input B2, output ZN);
  assign ZN = ~(A & (B1 | B2));
endmodule

module AOI22_X1 (input A1, input A2, input B1, input B2, output ZN);
  assign ZN = ~((A1 & A2) | (B1 & B2));
endmodule

module OAI22_X1 (input A1, input A2, input B1, input B2, output ZN);
  assign ZN = ~((A1 | A2) & (B1 | B2));
endmodule

module MUX2_X1 (input A, input B, input S, output Z);
  assign Z = S ? B : A;
endmodule

module DFF_X1 (input D, input CK, output reg Q, output QN);
  initial Q = 1'b0;
  always @(posedge CK) Q <= D;
  assign QN = ~Q;
endmodule

module DFFR_X1 (input D, input RN, input CK, output reg Q, output QN);
  initial Q = 1'b0;
  always @(posedge CK or negedge RN)
    if (!RN) Q <= 1'b0;
    else Q <= D;
  assign QN = ~Q;
endmodule

module LOGIC0_X1 (output Z);
  assign Z = 1'b0;
endmodule

module LOGIC1_X1 (output Z);
  assign Z = 1'b1;
endmodule

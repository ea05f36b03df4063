#!/bin/bash
echo 'root:$6$abcdefgh$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV./0123456789abcdefghij' | chpasswd -e;
